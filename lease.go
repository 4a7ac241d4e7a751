package listinggen

import (
	"context"
	"fmt"
	"strings"
)

// WorkerLease is a worker process's hold on the items it claims. The
// process renews it every few seconds (JobStore.RenewLease); once it has
// not been renewed for the lease's duration, the process is taken for
// dead and its running items go back to the queue (JobStore.ReclaimItems),
// so that a crashed process's items wait seconds, not the queue's rescue
// delay.
type WorkerLease struct {
	// ID names the process uniquely among every process sharing the store;
	// items record it when they are claimed.
	ID string
	// Host and PID say where the process runs, for operators.
	Host string
	PID  int
}

// Recovery says why an item was taken back from the worker that held it.
type Recovery string

const (
	// RecoveredAtRestart: the embedded store's new owner found the item
	// running when it started. Only one process opens a data directory, so
	// the process that held the item had stopped.
	RecoveredAtRestart Recovery = "restart"
	// RecoveredLeaseExpired: the worker holding the item stopped renewing
	// its lease (it crashed, was killed or paused, or lost the database).
	RecoveredLeaseExpired Recovery = "lease_expired"
	// RecoveredRescued: the queue delivered the item again while it was
	// still running, after the rescue delay (JOB_RESCUE_AFTER), the
	// backstop for a worker that is alive but stuck.
	RecoveredRescued Recovery = "rescued"
)

// Recoveries lists every recovery reason in the order reports use.
var Recoveries = []Recovery{RecoveredAtRestart, RecoveredLeaseExpired, RecoveredRescued}

// ReclaimScope says whose running items JobStore.ReclaimItems takes back.
type ReclaimScope int

const (
	// ReclaimExpired takes back the items of workers whose lease expired
	// (recorded as RecoveredLeaseExpired).
	ReclaimExpired ReclaimScope = iota + 1
	// ReclaimAll takes back every running item (recorded as
	// RecoveredAtRestart). Only a process that owns the store alone, at
	// start and before its own workers run, may ask for it: the embedded
	// store's owner, which holds its data directory's lock.
	ReclaimAll
)

// Check returns EINVALID for a value that names no scope, so that every
// store refuses it alike.
func (s ReclaimScope) Check() error {
	if s != ReclaimExpired && s != ReclaimAll {
		return Errorf(EINVALID, "unknown reclaim scope %d", s)
	}
	return nil
}

// Reason is the recovery a scope records on the items it takes back.
func (s ReclaimScope) Reason() Recovery {
	if s == ReclaimAll {
		return RecoveredAtRestart
	}
	return RecoveredLeaseExpired
}

// reclaimErrors are the error a taken-back item shows until it runs again.
var reclaimErrors = map[Recovery]string{
	RecoveredAtRestart:    "the process working it stopped; taken back at restart",
	RecoveredLeaseExpired: "the worker working it stopped (its lease expired); taken back",
}

// ItemError is the error the stores record on an item taken back for r,
// shown until the item runs again.
func (r Recovery) ItemError() string { return reclaimErrors[r] }

// ErrClaimLost is what JobStore.FinishItem and ReleaseItem return when the
// item is no longer running under the claim they were given.
func ErrClaimLost(itemID int64) error {
	return Errorf(ECONFLICT, "item %d is no longer held under this claim: it was taken back or finished by another delivery", itemID)
}

// ReclaimFunc re-enqueues, inside the store's transaction tx, the items
// taken back from stopped workers, and makes the queue forget the
// deliveries those workers had started: workerIDs are the stopped workers,
// whose fetched but not yet claimed deliveries would otherwise wait for
// the queue's rescue. It commits or vanishes with the items' state.
type ReclaimFunc func(ctx context.Context, tx any, itemIDs []int64, workerIDs []string) error

// RecoveryStats are the store-wide counts behind the recovery metrics.
type RecoveryStats struct {
	// Recovered counts the items ever taken back, by reason, over every
	// tenant.
	Recovered map[Recovery]int64
	// Workers counts the worker processes whose lease is live.
	Workers int
}

// NewRecoveryStats returns stats with every reason counted at zero, so
// that each reason's metric exists before its first recovery.
func NewRecoveryStats() RecoveryStats {
	st := RecoveryStats{Recovered: make(map[Recovery]int64, len(Recoveries))}
	for _, r := range Recoveries {
		st.Recovered[r] = 0
	}
	return st
}

// JobRecovery is how many of a job's items were taken back from a worker
// that stopped, and why: a job that waits on them says so instead of
// looking stuck.
type JobRecovery struct {
	// Items were taken back; Pending of them have not finished since.
	Items   int `json:"items"`
	Pending int `json:"pending"`
	// Reasons counts the items by why they were last taken back.
	Reasons map[Recovery]int `json:"reasons"`
	// Message says it in a sentence, e.g. "4 items taken back from a
	// stopped worker (lease expired); 2 not finished yet".
	Message string `json:"message"`
}

// AddRecovered counts n of the job's items taken back for reason, pending
// when they have not reached a final state since, and rewrites the
// message.
func (j *Job) AddRecovered(reason Recovery, pending bool, n int) {
	if n <= 0 {
		return
	}
	r := j.Recovered
	if r == nil {
		r = &JobRecovery{Reasons: map[Recovery]int{}}
		j.Recovered = r
	}
	r.Items += n
	r.Reasons[reason] += n
	if pending {
		r.Pending += n
	}
	r.Message = r.describe()
}

// recoveryPhrases say why, after "taken back from a stopped worker".
var recoveryPhrases = map[Recovery]string{
	RecoveredAtRestart:    "at restart",
	RecoveredLeaseExpired: "lease expired",
	RecoveredRescued:      "after the rescue delay",
}

func (r *JobRecovery) describe() string {
	var why []string
	for _, reason := range Recoveries {
		switch n := r.Reasons[reason]; {
		case n == 0:
		case n == r.Items:
			why = append(why, recoveryPhrases[reason])
		default:
			why = append(why, fmt.Sprintf("%s: %d", recoveryPhrases[reason], n))
		}
	}
	s := fmt.Sprintf("%d %s taken back from a stopped worker (%s)", r.Items, plural(r.Items, "item", "items"), strings.Join(why, ", "))
	if r.Pending > 0 {
		return s + fmt.Sprintf("; %d not finished yet", r.Pending)
	}
	return s + "; all finished since"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
