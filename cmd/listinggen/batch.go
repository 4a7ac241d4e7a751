package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/catalog"
	"github.com/listinggen/listinggen/internal/envflag"
	"github.com/listinggen/listinggen/jobs"
)

// batch runs a whole catalogue file through the pipeline on this machine
// and writes the results file. Its job is keyed by the input's content and
// the options, so running the same command again after Ctrl-C or a crash
// resumes the job instead of starting over; a finished job is exported
// again without running anything.
func batch(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	f := envflag.New("batch", getenv, stderr)
	common := bindCommon(f)
	in := f.String("i", "BATCH_INPUT", "", "catalogue file: .jsonl, .csv or .xlsx")
	out := f.String("o", "BATCH_OUTPUT", "", "results file: .jsonl, .csv or .xlsx")
	shopsFlag := f.String("shops", "BATCH_SHOPS", "", "comma-separated shop ids or names; a name not found is created on --platform")
	group := f.String("group", "BATCH_GROUP", "", "every shop of this group instead of --shops")
	platform := f.String("platform", "BATCH_PLATFORM", "", "douyin, taobao, pinduoduo or generic: the platform of created shops, and a filter on the targets")
	encoding := f.String("encoding", "BATCH_ENCODING", "", "CSV encoding: utf-8, gb18030 or gbk (default: detected)")
	dryRun := f.String("dry-run", "BATCH_DRY_RUN", "false", "estimate tokens and cost; run nothing")
	queueFlags := bindQueue(f, "4")
	if err := f.Parse(args); err != nil {
		return err
	}
	// The progress line is the output: warnings and worse show unless a
	// level is asked for, by the flag or the variable.
	if !flagGiven(f, "log-level") && getenv("LOG_LEVEL") == "" {
		common.logLevel = ptr("warn")
	}
	logger, err := common.logger(stderr)
	if err != nil {
		return err
	}
	var errs []error
	if *in == "" || *out == "" {
		errs = append(errs, errors.New("-i and -o are required"))
	}
	inFormat, err := catalog.ParseFormat(*in)
	if err != nil {
		errs = append(errs, fmt.Errorf("-i: %w", err))
	}
	outFormat, err := catalog.ParseFormat(*out)
	if err != nil {
		errs = append(errs, fmt.Errorf("-o: %w", err))
	}
	if (*shopsFlag == "") == (*group == "") {
		errs = append(errs, errors.New("give --shops or --group"))
	}
	plat := listinggen.Platform(*platform)
	if plat != "" && !plat.Valid() {
		errs = append(errs, fmt.Errorf("--platform: unknown platform %q", *platform))
	}
	qcfg, err := queueFlags.config(logger)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if qcfg.Workers == 0 {
		qcfg.Workers = 1
	}

	store, lock, err := common.openOwned(ctx, logger, qcfg.Lease)
	if err != nil {
		return err
	}
	defer lock.Release()
	defer store.Close()
	tenant := listinggen.DefaultTenant
	opts := listinggen.JobOptions{ShopGroup: *group, Platform: plat, DryRun: *dryRun == "true"}
	if *shopsFlag != "" {
		if opts.ShopIDs, err = ensureShops(ctx, store, tenant, strings.Split(*shopsFlag, ","), plat); err != nil {
			return err
		}
	}
	svc, err := buildPipeline(store, *common.dataDir, getenv, logger, nil)
	if err != nil {
		return err
	}
	defer svc.close(logger) // after the workers stop: their last calls are booked
	queue, service, err := openJobs(store, svc, qcfg)
	if err != nil {
		return err
	}
	key, err := batchKey(*in, opts, *encoding)
	if err != nil {
		return err
	}
	js := store.(jobStore)
	job, err := js.FindJobByKey(ctx, tenant, key)
	switch {
	case listinggen.ErrorCode(err) == listinggen.ENOTFOUND:
		r, err := catalog.OpenFile(*in, inFormat, catalog.Options{Encoding: *encoding})
		if err != nil {
			return fmt.Errorf("-i: %w", err)
		}
		fmt.Fprintf(stderr, "importing %s …\n", *in)
		job, err = service.Submit(ctx, tenant, opts, filepath.Base(*in), key, r)
		r.Close()
		if err != nil {
			return describeInvalid(err)
		}
	case err != nil:
		return err
	default:
		fmt.Fprintf(stderr, "resuming job %s (%s)\n", job.ID, job.State)
	}
	// Only this process works the embedded store: what a crash left
	// running runs again now rather than after the rescue delay.
	if err := recoverAtStart(ctx, lock, queue, logger); err != nil {
		return err
	}
	if job.State == listinggen.JobRunning {
		if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		job, err = watch(ctx, service, tenant, job.ID, stderr)
		stopQueue(queue, 30*time.Second, logger)
		if err != nil {
			return err
		}
	}
	if err := writeResults(ctx, service, tenant, job.ID, *out, outFormat); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s, %d done, %d failed, %d invalid rows, %d skipped; %d tokens, $%.4f → %s\n", job.ID, job.State,
		job.Counts[listinggen.ItemDone], job.Counts[listinggen.ItemFailed], job.Counts[listinggen.ItemInvalid], job.Counts[listinggen.ItemSkipped],
		job.PromptTokens+job.CompletionTokens, job.CostUSD, *out)
	if job.State == listinggen.JobEstimated {
		fmt.Fprintf(stderr, "dry run: estimated %d tokens, $%.4f\n", job.EstimatedTokens, job.EstimatedCostUSD)
	}
	fmt.Fprintln(stderr, memorySummary(store))
	return nil
}

func ptr[T any](v T) *T { return &v }

// ensureShops resolves ids or names, creating a shop for a name not found.
func ensureShops(ctx context.Context, store listinggen.Store, tenant string, refs []string, plat listinggen.Platform) ([]string, error) {
	byName := map[string]string{}
	cursor := ""
	for {
		page, err := store.FindShops(ctx, tenant, listinggen.ShopFilter{Cursor: cursor, Limit: listinggen.MaxPageSize})
		if err != nil {
			return nil, err
		}
		for _, sh := range page.Items {
			byName[sh.ID], byName[sh.Name] = sh.ID, sh.ID
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	var ids []string
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		if id, ok := byName[ref]; ok {
			ids = append(ids, id)
			continue
		}
		if plat == "" {
			return nil, fmt.Errorf("--shops: no shop %q; give --platform to create it", ref)
		}
		sh := &listinggen.Shop{TenantID: tenant, Name: ref, Platform: plat}
		if err := sh.Validate(); err != nil {
			return nil, describeInvalid(err)
		}
		if err := store.CreateShop(ctx, sh); err != nil {
			return nil, err
		}
		byName[ref] = sh.ID
		ids = append(ids, sh.ID)
	}
	return ids, nil
}

// batchKey identifies a run: the input's bytes and everything that changes
// what is produced.
func batchKey(path string, opts listinggen.JobOptions, encoding string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("-i: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("-i: %w", err)
	}
	o, _ := json.Marshal(opts)
	fmt.Fprintf(h, "\x00%s\x00%s", o, encoding)
	return "batch:" + hex.EncodeToString(h.Sum(nil)), nil
}

func describeInvalid(err error) error {
	if fields := listinggen.ErrorFields(err); len(fields) > 0 {
		var b strings.Builder
		for _, fe := range fields {
			fmt.Fprintf(&b, "\n  %s: %s", fe.Field, fe.Message)
		}
		return fmt.Errorf("%s%s", listinggen.ErrorMessage(err), b.String())
	}
	return err
}

// watch prints a progress line until the job leaves running or ctx ends.
func watch(ctx context.Context, svc *jobs.Service, tenant, id string, w io.Writer) (*listinggen.Job, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		job, err := svc.Get(context.WithoutCancel(ctx), tenant, id)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "\r%s", progressLine(job))
		if job.State != listinggen.JobRunning {
			fmt.Fprintln(w)
			return job, nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return nil, fmt.Errorf("interrupted: run the same command again to resume job %s", id)
		case <-tick.C:
		}
	}
}

func progressLine(j *listinggen.Job) string {
	finished := j.Counts[listinggen.ItemDone] + j.Counts[listinggen.ItemFailed]
	total := finished + j.Counts[listinggen.ItemQueued] + j.Counts[listinggen.ItemRunning]
	const width = 24
	filled := 0
	if total > 0 {
		filled = finished * width / total
	}
	eta := "–"
	if j.ETASeconds != nil {
		eta = (time.Duration(*j.ETASeconds) * time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d items  %.1f items/s  ETA %s  tokens %d  errors %d ",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), finished, total, j.ItemsPerSecond, eta,
		j.PromptTokens+j.CompletionTokens, j.Counts[listinggen.ItemFailed]+j.Counts[listinggen.ItemInvalid])
}

// writeResults writes to a temporary file beside out and renames it, so
// that an interrupted export never leaves half a results file.
func writeResults(ctx context.Context, svc *jobs.Service, tenant, id, out string, f catalog.Format) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := svc.Results(context.WithoutCancel(ctx), tenant, id, f, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// flagGiven reports whether name was set on the command line.
func flagGiven(f *envflag.FlagSet, name string) bool {
	given := false
	f.Visit(func(fl *flag.Flag) { given = given || fl.Name == name })
	return given
}
