package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
)

type jobRequest struct {
	listinggen.JobOptions
	Items []listinggen.Product `json:"items"`
}

func (s *Server) jobsService() error {
	if s.deps.Jobs == nil {
		return listinggen.Errorf(listinggen.EUNAVAILABLE, "batch jobs are not enabled on this server")
	}
	return nil
}

// createJob takes JSON items or a multipart file. The 202 comes after the
// job and all its queue entries are committed.
func (s *Server) createJob(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	var opts listinggen.JobOptions
	var r catalog.Reader
	source := "items"
	if isJSON(c.Request().Header.Get(echo.HeaderContentType)) {
		var req jobRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		opts, r = req.JobOptions, catalog.Products(req.Items)
	} else {
		var err error
		var cleanup func()
		opts, source, r, cleanup, err = s.uploadedCatalogue(c)
		if err != nil {
			return err
		}
		defer cleanup()
	}
	defer r.Close()
	job, err := s.deps.Jobs.Submit(c.Request().Context(), tenant(c), opts, source, "", r)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/jobs/"+job.ID)
	return c.JSON(http.StatusAccepted, job)
}

// uploadedCatalogue reads the multipart options and opens the file part.
// net/http has spooled a large part to a temporary file already; an XLSX
// part is copied to one of ours because the XLSX reader needs a path.
func (s *Server) uploadedCatalogue(c echo.Context) (opts listinggen.JobOptions, source string, r catalog.Reader, cleanup func(), err error) {
	cleanup = func() {}
	fh, err := c.FormFile("file")
	if err != nil {
		return opts, "", nil, cleanup, listinggen.Invalid([]listinggen.FieldError{{Field: "file", Message: "is required: the catalogue as a multipart file field"}})
	}
	var errs []listinggen.FieldError
	if v := c.FormValue("shop_ids"); v != "" {
		for _, id := range strings.Split(v, ",") {
			opts.ShopIDs = append(opts.ShopIDs, strings.TrimSpace(id))
		}
	}
	opts.ShopGroup = c.FormValue("shop_group")
	opts.Platform = listinggen.Platform(c.FormValue("platform"))
	// The spec cannot check a streamed multipart body, so the typed
	// fields are checked here, each naming itself.
	parse := func(name string, fn func(string) error) {
		if v := c.FormValue(name); v != "" {
			if err := fn(v); err != nil {
				errs = append(errs, listinggen.FieldError{Field: name, Message: "is not a " + err.Error()})
			}
		}
	}
	boolean := func(dst *bool) func(string) error {
		return func(v string) (err error) {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return errors.New("boolean (true or false)")
			}
			return nil
		}
	}
	parse("one_per_cluster", boolean(&opts.OnePerCluster))
	parse("dry_run", boolean(&opts.DryRun))
	parse("max_tokens", func(v string) (err error) {
		if opts.MaxTokens, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errors.New("whole number")
		}
		return nil
	})
	parse("max_cost_usd", func(v string) (err error) {
		if opts.MaxCostUSD, err = strconv.ParseFloat(v, 64); err != nil {
			return errors.New("number")
		}
		return nil
	})
	name := c.FormValue("format")
	if name == "" {
		name = fh.Filename
	}
	format, ferr := catalog.ParseFormat(name)
	if ferr != nil {
		errs = append(errs, listinggen.FieldError{Field: "format", Message: "say jsonl, csv or xlsx, or name the file with that extension"})
	}
	if err := listinggen.Invalid(errs); err != nil {
		return opts, "", nil, cleanup, err
	}
	copts := catalog.Options{Encoding: c.FormValue("encoding"), Sheet: c.FormValue("sheet")}
	f, err := fh.Open()
	if err != nil {
		return opts, "", nil, cleanup, listinggen.WrapError(listinggen.EINVALID, err, "could not read the uploaded file")
	}
	if format == catalog.XLSX {
		path, err := spool(f)
		f.Close()
		if err != nil {
			return opts, "", nil, cleanup, err
		}
		cleanup = func() { os.Remove(path) }
		r, err = catalog.OpenXLSX(path, copts)
		if err != nil {
			cleanup()
			return opts, "", nil, func() {}, catalogueError(err)
		}
		return opts, fh.Filename, r, cleanup, nil
	}
	r, err = catalog.Open(f, format, copts)
	if err != nil {
		f.Close()
		return opts, "", nil, cleanup, catalogueError(err)
	}
	return opts, fh.Filename, r, func() { f.Close() }, nil
}

func spool(f multipart.File) (string, error) {
	tmp, err := os.CreateTemp("", "listinggen-upload-*.xlsx")
	if err != nil {
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the upload")
	}
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", listinggen.WrapError(listinggen.EUNAVAILABLE, err, "could not store the upload")
	}
	return tmp.Name(), nil
}

// catalogueError is a file that cannot be read as a catalogue at all.
func catalogueError(err error) error {
	return listinggen.Invalid([]listinggen.FieldError{{Field: "file", Message: err.Error()}})
}

func (s *Server) getJob(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	job, err := s.deps.Jobs.Get(c.Request().Context(), tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

// listJobs is the tenant's jobs, newest first, with cursor pagination.
func (s *Server) listJobs(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	page, err := s.deps.Jobs.List(c.Request().Context(), tenant(c), listinggen.JobFilter{Cursor: c.QueryParam("cursor"), Limit: queryInt(c, "limit")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// jobItems is a page of a job's items, optionally in some states only
// (state=failed,invalid: its per-item errors). The spec has checked the
// state names.
func (s *Server) jobItems(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	f := listinggen.JobItemFilter{Cursor: c.QueryParam("cursor"), Limit: queryInt(c, "limit")}
	if v := c.QueryParam("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			f.States = append(f.States, listinggen.ItemState(st))
		}
	}
	page, err := s.deps.Jobs.Items(c.Request().Context(), tenant(c), c.Param("id"), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) cancelJob(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	job, err := s.deps.Jobs.Cancel(c.Request().Context(), tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}

type requeued struct {
	Job      *listinggen.Job `json:"job"`
	Requeued int             `json:"requeued"`
}

func (s *Server) retryJob(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	job, n, err := s.deps.Jobs.Retry(c.Request().Context(), tenant(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, requeued{job, n})
}

func (s *Server) resumeJob(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	var req struct {
		MaxTokens  *int64   `json:"max_tokens"`
		MaxCostUSD *float64 `json:"max_cost_usd"`
	}
	// The body is optional: none means "resume under the same budget".
	if c.Request().ContentLength != 0 {
		if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			return listinggen.Invalid([]listinggen.FieldError{{Field: "body", Message: err.Error()}})
		}
	}
	job, n, err := s.deps.Jobs.Resume(c.Request().Context(), tenant(c), c.Param("id"), req.MaxTokens, req.MaxCostUSD)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, requeued{job, n})
}

var resultTypes = map[catalog.Format]string{
	catalog.JSONL: "application/x-ndjson",
	catalog.CSV:   "text/csv; charset=utf-8",
	catalog.XLSX:  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// jobResults streams the results. The job is looked up first so that a
// missing job is a 404 problem, not a half-written 200.
func (s *Server) jobResults(c echo.Context) error {
	if err := s.jobsService(); err != nil {
		return err
	}
	f := catalog.JSONL
	if q := c.QueryParam("format"); q != "" {
		f = catalog.Format(q)
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := s.deps.Jobs.Get(ctx, tenant(c), id); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, resultTypes[f])
	h.Set(echo.HeaderContentDisposition, `attachment; filename="job-`+id+`-results.`+string(f)+`"`)
	c.Response().WriteHeader(http.StatusOK)
	if err := s.deps.Jobs.Results(ctx, tenant(c), id, f, c.Response()); err != nil {
		// Headers are gone: the client sees a truncated body; log why.
		s.deps.Logger.Error("job results cut short", "job", id, "err", err)
	}
	return nil
}

// JobService is what the handlers need of jobs.Service.
type JobService interface {
	Submit(ctx context.Context, tenant string, opts listinggen.JobOptions, source, key string, r catalog.Reader) (*listinggen.Job, error)
	Get(ctx context.Context, tenant, id string) (*listinggen.Job, error)
	List(ctx context.Context, tenant string, f listinggen.JobFilter) (listinggen.Page[*listinggen.Job], error)
	Items(ctx context.Context, tenant, id string, f listinggen.JobItemFilter) (listinggen.Page[*listinggen.JobItem], error)
	Cancel(ctx context.Context, tenant, id string) (*listinggen.Job, error)
	Retry(ctx context.Context, tenant, id string) (*listinggen.Job, int, error)
	Resume(ctx context.Context, tenant, id string, maxTokens *int64, maxCostUSD *float64) (*listinggen.Job, int, error)
	Results(ctx context.Context, tenant, id string, f catalog.Format, w io.Writer) error
}
