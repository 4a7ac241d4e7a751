package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/pgtest"
	"github.com/listinggen/listinggen/sqlite"
)

// serveProcess starts `listinggen serve` as a child process, so that a
// test can kill it, and returns it with a client for its API.
func serveProcess(t *testing.T, env map[string]string) (*process, *server) {
	t.Helper()
	full := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "LOG_FORMAT": "text", "IMAGES": "off"}
	for k, v := range env {
		full[k] = v
	}
	p := startProcess(t, full, "serve")
	deadline := time.Now().Add(2 * time.Minute) // the first call builds the binary
	for {
		if m := listenLine.FindStringSubmatch(p.stderr.String()); m != nil {
			s := &server{t: t, url: m[1], logs: p.stderr}
			s.stop = func() error {
				p.cmd.Process.Signal(syscall.SIGTERM)
				<-p.done
				return p.err
			}
			return p, s
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited before listening: %v\n%s", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// llmEnv points a process at a fake model.
func llmEnv(fake *openaitest.Server, env map[string]string) map[string]string {
	out := map[string]string{"LLM_PROVIDER": "openai", "LLM_BASE_URL": fake.URL(), "LLM_API_KEY": "k", "LLM_MODEL": "fake", "LLM_CACHE_SIZE": "0"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// inFlight is how many chat calls the fake has received and not answered:
// items its client is in the middle of.
func inFlight(fake *openaitest.Server) int {
	st := fake.Stats()
	return st.Chat - st.Answered
}

// submitRows submits rows products × the shops and returns the job.
func submitRows(t *testing.T, s *server, rows int, shops ...string) jobReply {
	t.Helper()
	items := make([]map[string]any, rows)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprint(i), "title": fmt.Sprintf("法式复古碎花连衣裙 款%d 收腰显瘦", i), "category": "女装/连衣裙"}
	}
	var job jobReply
	if r := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": shops, "items": items}, &job); r.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d", r.StatusCode)
	}
	return job
}

// getJob reads the job afresh.
func getJob(s *server, id string) jobReply {
	var job jobReply
	s.do("GET", "/v1/jobs/"+id, nil, &job)
	return job
}

// waitUntil polls cond every 20 ms for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSecondProcessOnADataDirectoryIsRefused: while `serve` runs on a data
// directory, a second serve, a worker and a batch on it refuse to start,
// naming the directory and the running process's pid; the first keeps
// working, and once it stops the directory is free again.
func TestSecondProcessOnADataDirectoryIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	env := map[string]string{"DATA_DIR": dataDir, "WORKERS": "2", "JOB_POLL": "50ms"}
	first, s := serveProcess(t, env)
	shop := createShop(t, s, "抖店一号", "douyin")

	full := map[string]string{"DATA_DIR": dataDir, "LISTEN_ADDR": "127.0.0.1:0", "IMAGES": "off", "LOG_LEVEL": "error"}
	getenv := func(k string) string { return full[k] }
	in := filepath.Join(dir, "c.csv")
	writeCSV(t, in, 2)
	want := fmt.Sprintf("data directory %s is in use by another process (pid %d)", dataDir, first.cmd.Process.Pid)
	for _, args := range [][]string{
		{"serve"},
		{"worker"},
		{"batch", "-i", in, "-o", filepath.Join(dir, "out.jsonl"), "--shops", "抖店一号"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := run(ctx, args, getenv, strings.NewReader(""), io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s on a directory in use: %v; want %q", args[0], err, want)
		}
	}

	job := submitRows(t, s, 5, shop.ID)
	waitUntil(t, time.Minute, "the first server's job", func() bool { return getJob(s, job.ID).State == "completed" })
	if r := s.do("GET", "/readyz", nil, nil); r.StatusCode != http.StatusOK {
		t.Errorf("readyz of the first server: %d", r.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("first server: %v\n%s", err, first.stderr.String())
	}
	_, s2 := serveProcess(t, env)
	if got := getJob(s2, job.ID); got.Counts["done"] != 5 {
		t.Errorf("after a clean stop the next server sees %+v", got)
	}
}

// TestServeKilledMidJobFinishesAfterRestart: `serve` on SQLite is killed
// with SIGKILL while items are in flight (a model answering in 0.3–0.5 s)
// and started again on the same data directory: the items the dead
// process held are taken back at start, before the workers run, so that
// every item is done within 60 s of the restart, exactly once in the
// results and the listings; the job and the metrics say how many items
// were taken back and why.
func TestServeKilledMidJobFinishesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a process")
	}
	fake := openaitest.New(openaitest.Config{LatencyMin: 300 * time.Millisecond, LatencyMax: 500 * time.Millisecond})
	defer fake.Close()
	dataDir := t.TempDir()
	env := llmEnv(fake, map[string]string{"DATA_DIR": dataDir, "WORKERS": "4", "JOB_POLL": "50ms"})
	first, s := serveProcess(t, env)
	shopA, shopB := createShop(t, s, "抖店一号", "douyin"), createShop(t, s, "抖店二号", "douyin")
	const rows = 40
	job := submitRows(t, s, rows, shopA.ID, shopB.ID)
	waitUntil(t, 2*time.Minute, "ten items done and two in flight", func() bool {
		return getJob(s, job.ID).Counts["done"] >= 10 && inFlight(fake) >= 2
	})
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done

	// What the dead process left running, read from its database.
	store, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dataDir, "listinggen.db"), MaxReaders: 1, BusyTimeout: time.Second}, time.Now, newID)
	if err != nil {
		t.Fatal(err)
	}
	left, err := store.FindJob(context.Background(), listinggen.DefaultTenant, job.ID)
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	running := left.Counts[listinggen.ItemRunning]
	if running == 0 {
		t.Fatalf("no item was running at the kill: %v", left.Counts)
	}

	restarted := time.Now()
	_, s2 := serveProcess(t, env)
	var got jobReply
	waitUntil(t, 60*time.Second, "every item done after the restart", func() bool {
		got = getJob(s2, job.ID)
		return got.State == "completed"
	})
	t.Logf("killed with %d items running and %d done; all %d done %v after the restart", running, left.Counts[listinggen.ItemDone],
		rows*2, time.Since(restarted).Round(100*time.Millisecond))
	r := got.Recovered
	if r == nil || r.Items != running || r.Reasons[listinggen.RecoveredAtRestart] != running || r.Pending != 0 ||
		!strings.Contains(r.Message, "at restart") {
		t.Errorf("job recovery = %+v; want the %d items that were running, at restart", r, running)
	}
	metrics := s2.get("/metrics")
	if want := fmt.Sprintf(`listinggen_job_items_recovered_total{reason="restart"} %d`, running); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	waitExactlyOnce(t, s2, got, rows, shopA.ID, shopB.ID)
}

// get returns the body of a GET.
func (s *server) get(path string) string {
	s.t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}

// pgWorkers is the setting of the PostgreSQL worker tests: an API-only
// server took a job, two `listinggen worker` processes work it with
// two-second leases, each on a fake model of its own (so that the test
// knows when a process is in the middle of an item), and the rescue delay
// stays at its default ten minutes, so that only the leases can bring the
// items back in time.
type pgWorkers struct {
	dbURL        string
	api          *server
	job          jobReply
	shops        []string
	victim, peer *process
	victimLLM    *openaitest.Server
}

const pgRows = 40

func startPGWorkers(t *testing.T) *pgWorkers {
	t.Helper()
	w := &pgWorkers{dbURL: pgtest.FreshDatabase(t)}
	w.victimLLM = openaitest.New(openaitest.Config{LatencyMin: 300 * time.Millisecond, LatencyMax: 500 * time.Millisecond})
	peerLLM := openaitest.New(openaitest.Config{LatencyMin: 100 * time.Millisecond, LatencyMax: 200 * time.Millisecond})
	t.Cleanup(w.victimLLM.Close)
	t.Cleanup(peerLLM.Close)
	w.api = startServer(t, t.TempDir(), llmEnv(peerLLM, map[string]string{"DATABASE_URL": w.dbURL, "WORKERS": "0"}))
	a, b := createShop(t, w.api, "抖店一号", "douyin"), createShop(t, w.api, "抖店二号", "douyin")
	w.shops = []string{a.ID, b.ID}
	w.job = submitRows(t, w.api, pgRows, w.shops...)
	env := map[string]string{"DATABASE_URL": w.dbURL, "IMAGES": "off", "JOB_POLL": "100ms",
		"JOB_LEASE": "2s", "JOB_HEARTBEAT": "500ms", "SHUTDOWN_TIMEOUT": "1s"}
	victimEnv := llmEnv(w.victimLLM, env)
	victimEnv["WORKERS"] = "2"
	peerEnv := llmEnv(peerLLM, env)
	peerEnv["WORKERS"] = "4"
	w.victim = startProcess(t, victimEnv, "worker")
	w.peer = startProcess(t, peerEnv, "worker")
	waitUntil(t, 2*time.Minute, "ten items done and the victim in the middle of one", func() bool {
		return getJob(w.api, w.job.ID).Counts["done"] >= 10 && inFlight(w.victimLLM) >= 1
	})
	return w
}

// held returns the items the process with pid holds, read from the
// database.
func (w *pgWorkers) held(t *testing.T, pid int) []int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT i.id FROM job_items i JOIN workers w ON w.id = i.worker_id
		WHERE w.pid = $1 AND i.state = 'running' ORDER BY i.id`, pid)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestWorkerKilledMidJobOnPostgres: of two worker processes, one is
// killed with SIGKILL in the middle of an item; its lease expires two
// seconds later and the other takes its items back and finishes the job
// within 30 s of the kill, every item exactly once, each shop holding one
// listing per product.
func TestWorkerKilledMidJobOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	w := startPGWorkers(t)
	if err := w.victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-w.victim.done
	// Read within the lease: what the dead process held.
	held := w.held(t, w.victim.cmd.Process.Pid)
	if len(held) == 0 {
		t.Fatal("the victim held no item")
	}
	var job jobReply
	waitUntil(t, 30*time.Second, "the job finished after the kill", func() bool {
		job = getJob(w.api, w.job.ID)
		return job.State == "completed"
	})
	t.Logf("killed holding %d items; the job completed %v later", len(held), time.Since(killed).Round(100*time.Millisecond))
	if r := job.Recovered; r == nil || r.Reasons[listinggen.RecoveredLeaseExpired] < len(held) || r.Pending != 0 {
		t.Errorf("job recovery = %+v; want at least the victim's %d items, lease expired", r, len(held))
	}
	waitExactlyOnce(t, w.api, job, pgRows, w.shops...)
}

// TestWorkerPausedPastItsLeaseOnPostgres: one of two worker processes is
// stopped with SIGSTOP in the middle of an item, long enough for its lease
// to expire and the other to take its items back and finish the job; then
// it continues (SIGCONT) and finishes what it had started. Its late
// results are refused by the claim fence and its listings were the same
// idempotent ones: no second listing, no second result row, and the job's
// counts add up.
func TestWorkerPausedPastItsLeaseOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and stops processes")
	}
	w := startPGWorkers(t)
	pid := w.victim.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	held := w.held(t, pid) // read within the lease
	if len(held) == 0 {
		t.Fatal("the victim holds no item")
	}
	var job jobReply
	deadline := time.Now().Add(time.Minute)
	for job = getJob(w.api, w.job.ID); job.State != "completed"; job = getJob(w.api, w.job.ID) {
		if time.Now().After(deadline) {
			w.debug(t)
			t.Fatalf("the other worker did not finish the job: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("paused holding %d items; the job completed %v later", len(held), time.Since(stopped).Round(100*time.Millisecond))
	if len(w.held(t, pid)) != 0 {
		t.Error("the paused worker still holds items after the others finished the job")
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// It wakes with model answers waiting for the items it had started:
	// it finishes them, and the fence refuses the results.
	waitUntil(t, 30*time.Second, "the woken worker's late results refused", func() bool {
		return strings.Contains(w.victim.stderr.String(), "item taken back from this worker")
	})
	time.Sleep(time.Second) // anything else it had in hand
	job = getJob(w.api, w.job.ID)
	total := 0
	for _, n := range job.Counts {
		total += n
	}
	if job.State != "completed" || total != job.Items || job.Counts["done"] != job.Items || job.Items != pgRows*2 {
		t.Errorf("counts after the wake: %s %v, items %d", job.State, job.Counts, job.Items)
	}
	if r := job.Recovered; r == nil || r.Reasons[listinggen.RecoveredLeaseExpired] < len(held) {
		t.Errorf("job recovery = %+v; want at least the paused worker's %d items", r, len(held))
	}
	waitExactlyOnce(t, w.api, job, pgRows, w.shops...)
	select {
	case <-w.victim.done:
		t.Errorf("the woken worker exited: %v\n%s", w.victim.err, w.victim.stderr.String())
	default:
	}
}

func (w *pgWorkers) debug(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		t.Log(err)
		return
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`SELECT id || ' ' || pid || ' ' || expires_at::text || ' now ' || now()::text FROM workers`,
		`SELECT id || ' ' || state || ' ' || worker_id || ' ' || claim || ' ' || recovered FROM job_items WHERE state IN ('running', 'queued')`,
		`SELECT pid || ' ' || coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || ' ' || left(query, 120) FROM pg_stat_activity WHERE datname = current_database()`,
		`SELECT id || ' ' || state || ' ' || args::text || ' ' || coalesce(attempted_by::text, '') FROM river_job WHERE state NOT IN ('completed', 'cancelled')`,
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Log(q, err)
			continue
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		t.Logf("%s:\n%s %v", q, strings.Join(out, "\n"), err)
	}
	t.Logf("peer:\n%s\nvictim:\n%s", w.peer.stderr.String(), w.victim.stderr.String())
}
