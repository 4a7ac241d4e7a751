package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// JobReader reads batch jobs for the job pages; jobs.Service is one.
type JobReader interface {
	Get(ctx context.Context, tenant, id string) (*listinggen.Job, error)
	List(ctx context.Context, tenant string, filter listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error)
	Items(ctx context.Context, tenant, id string, filter listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error)
}

// errorStates are the item states the job view lists as errors: items that
// ran and failed, and rows that could not be read as a product.
var errorStates = []listinggen.ItemState{listinggen.ItemFailed, listinggen.ItemInvalid}

// jobsPageSize is the jobs list's page; each job on it has its items
// counted, so it is smaller than the queue's.
const jobsPageSize = 20

// jobProgress is how far a job is: its items that ran to the end (done or
// failed) out of those that run at all (invalid and skipped rows never
// do). job.js computes the same from the polled job.
type jobProgress struct {
	Finished, Total int
}

func progressOf(j *listinggen.Job) jobProgress {
	c := j.Counts
	return jobProgress{Finished: c[listinggen.ItemDone] + c[listinggen.ItemFailed],
		Total: j.Items - c[listinggen.ItemInvalid] - c[listinggen.ItemSkipped]}
}

// Fraction is in [0, 1]; a job with nothing to run is complete.
func (p jobProgress) Fraction() float64 {
	if p.Total <= 0 {
		return 1
	}
	return float64(p.Finished) / float64(p.Total)
}

// BarValue and BarMax are the progress element's attributes (whose max
// must be positive).
func (p jobProgress) BarValue() int {
	if p.Total <= 0 {
		return 1
	}
	return p.Finished
}

func (p jobProgress) BarMax() int { return max(p.Total, 1) }

// jobRow is a job with its progress, for the list and the view.
type jobRow struct {
	*listinggen.Job
	Progress jobProgress
}

// Count is the number of the job's items in state s.
func (r jobRow) Count(s string) int { return r.Counts[listinggen.ItemState(s)] }

// jobsOff answers the job pages of a server without batch jobs.
func (u *UI) jobsOff() error {
	return listinggen.Errorf(listinggen.EUNAVAILABLE, "batch jobs are not enabled on this server")
}

type jobsPage struct {
	Rows     []jobRow
	NextURL  string
	FirstURL string
}

// jobsList is the tenant's jobs, newest first, with keyset pagination.
func (u *UI) jobsList(c echo.Context) error {
	if u.deps.Jobs == nil {
		return u.jobsOff()
	}
	cursor := c.QueryParam("cursor")
	page, err := u.deps.Jobs.List(c.Request().Context(), tenantOf(c), listinggen.JobFilter{Cursor: cursor, Limit: jobsPageSize})
	if err != nil {
		return err
	}
	data := jobsPage{}
	for _, j := range page.Items {
		data.Rows = append(data.Rows, jobRow{Job: j, Progress: progressOf(j)})
	}
	if page.NextCursor != "" {
		data.NextURL = "/ui/jobs?cursor=" + url.QueryEscape(page.NextCursor)
	}
	if cursor != "" {
		data.FirstURL = "/ui/jobs"
	}
	return u.render(c, http.StatusOK, "jobs", data, nil)
}

// errorRow is a failed or invalid item with its shop's name.
type errorRow struct {
	*listinggen.JobItem
	ShopName string
}

type jobPage struct {
	jobRow
	// Recovered are the job's items taken back from a stopped worker, by
	// reason (message key and count), in listinggen.Recoveries order.
	Recovered []reasonCount
	States    []listinggen.ItemState
	Errors    []errorRow
	ErrorsURL string // the next page of errors
	Paged     bool   // showing a later page of errors
	ReviewURL string
	Formats   []string
}

// reasonCount is one reason why items were taken back, and how many.
type reasonCount struct {
	Key string
	N   int
}

// job is one job: progress, counts, throughput, spend, the items taken
// back from a stopped worker and why (so that a job waiting on them does
// not look stuck), its failed items and the actions on it; job.js polls
// the API while the job runs.
func (u *UI) job(c echo.Context) error {
	if u.deps.Jobs == nil {
		return u.jobsOff()
	}
	ctx, tenant, id := c.Request().Context(), tenantOf(c), c.Param("id")
	j, err := u.deps.Jobs.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	cursor := c.QueryParam("errors")
	items, err := u.deps.Jobs.Items(ctx, tenant, id, listinggen.JobItemFilter{States: errorStates, Cursor: cursor})
	if err != nil {
		return err
	}
	shops, err := u.allShops(c)
	if err != nil {
		return err
	}
	// The names of the job's shops: the errors show them, and the script
	// needs them when it refreshes the errors.
	names := map[string]string{}
	for _, s := range shops {
		if slices.Contains(j.Options.ShopIDs, s.ID) || j.Options.ShopGroup != "" && s.Group == j.Options.ShopGroup {
			names[s.ID] = s.Name
		}
	}
	data := jobPage{jobRow: jobRow{Job: j, Progress: progressOf(j)}, States: listinggen.ItemStates, Paged: cursor != "",
		ReviewURL: queueFilter{Job: j.ID}.query(""), Formats: []string{"jsonl", "csv", "xlsx"}}
	if r := j.Recovered; r != nil {
		for _, reason := range listinggen.Recoveries {
			if n := r.Reasons[reason]; n > 0 {
				data.Recovered = append(data.Recovered, reasonCount{Key: "recovery." + string(reason), N: n})
			}
		}
	}
	for _, it := range items.Items {
		data.Errors = append(data.Errors, errorRow{JobItem: it, ShopName: names[it.ShopID]})
	}
	if items.NextCursor != "" {
		data.ErrorsURL = fmt.Sprintf("/ui/jobs/%s?errors=%s", url.PathEscape(j.ID), url.QueryEscape(items.NextCursor))
	}
	// The script refreshes the first page of errors as items fail; the
	// shop names let it show them as the server does.
	js := map[string]any{"id": j.ID, "job": j, "shops": names, "refresh_errors": cursor == ""}
	return u.render(c, http.StatusOK, "job", data, js)
}

// filterJobs are the queue's job filter choices: the tenant's recent jobs,
// and the one filtered by (looked up when it is older than those; an id
// that is not one of the tenant's jobs simply matches no listing).
func (u *UI) filterJobs(c echo.Context, current string) (recent []*listinggen.Job, cur *listinggen.Job, err error) {
	if u.deps.Jobs == nil {
		return nil, nil, nil
	}
	ctx, tenant := c.Request().Context(), tenantOf(c)
	page, err := u.deps.Jobs.List(ctx, tenant, listinggen.JobFilter{Limit: jobsPageSize, WithoutCounts: true})
	if err != nil {
		return nil, nil, err
	}
	if current == "" {
		return page.Items, nil, nil
	}
	for _, j := range page.Items {
		if j.ID == current {
			return page.Items, j, nil
		}
	}
	cur, err = u.deps.Jobs.Get(ctx, tenant, current)
	if listinggen.ErrorCode(err) == listinggen.ENOTFOUND {
		return page.Items, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return append(page.Items, cur), cur, nil
}

// eta renders a job's remaining time, in whole seconds, minutes or hours.
func eta(secs *float64) string {
	if secs == nil {
		return "—"
	}
	s := int(*secs + 0.5)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
}
