package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"sync"

	"github.com/listinggen/listinggen"
)

// BlobPutter stores a variant's bytes and returns their key (the sha256
// hex digest of data). blob.Store satisfies it; so will listinggen.BlobStore.
type BlobPutter interface {
	Put(ctx context.Context, data []byte, contentType string) (key string, err error)
}

// Config configures the Processor.
type Config struct {
	Fetch  FetchConfig
	Limits Limits
	Render RenderConfig
	// Concurrency bounds the images in flight (fetching or processing)
	// across all Process calls of one Processor.
	Concurrency int
	// DecodeConcurrency bounds the images decoded and rendered at once
	// across all Process calls, and so the memory they hold: a 20 MP
	// photo needs about 30 MB while it is processed.
	DecodeConcurrency int
	// Demo holds the photos that demo: URLs name (listinggen.DemoPhotos);
	// nil refuses every demo: URL. See demo.go.
	Demo fs.FS
}

// DefaultConfig returns the settings used by the service.
func DefaultConfig() Config {
	return Config{
		Fetch:             DefaultFetchConfig(),
		Limits:            DefaultLimits(),
		Render:            DefaultRenderConfig(),
		Concurrency:       16,
		DecodeConcurrency: runtime.GOMAXPROCS(0),
	}
}

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	errs := []error{c.Fetch.Validate(), c.Limits.Validate(), c.Render.Validate()}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("images: Concurrency must be at least 1"))
	}
	if c.DecodeConcurrency < 1 {
		errs = append(errs, errors.New("images: DecodeConcurrency must be at least 1"))
	}
	return errors.Join(errs...)
}

// Processor fetches, checks, decodes, resizes, hashes and stores images. It
// is safe for concurrent use; its concurrency bounds hold across calls.
type Processor struct {
	cfg     Config
	fetcher *Fetcher
	store   BlobPutter
	logger  *slog.Logger
	flight  chan struct{} // Concurrency slots
	decode  chan struct{} // DecodeConcurrency slots
}

// NewProcessor returns a Processor storing variants in store.
func NewProcessor(cfg Config, store BlobPutter, logger *slog.Logger) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("images: a BlobPutter is required")
	}
	if logger == nil {
		return nil, errors.New("images: a Logger is required")
	}
	f, err := NewFetcher(cfg.Fetch)
	if err != nil {
		return nil, err
	}
	return &Processor{
		cfg: cfg, fetcher: f, store: store, logger: logger,
		flight: make(chan struct{}, cfg.Concurrency),
		decode: make(chan struct{}, cfg.DecodeConcurrency),
	}, nil
}

// Fetcher returns the processor's fetcher (for a fetch-by-URL endpoint).
func (p *Processor) Fetcher() *Fetcher { return p.fetcher }

var _ listinggen.ImageProcessor = (*Processor)(nil)

// Process makes the variants of spec (already narrowed with ForCategory)
// for every input, concurrently within the processor's bounds. A bad image
// never fails the others: each failure is one listinggen.ImageFailure.
// Process returns an error only when ctx ends first; the partial result is
// still returned.
func (p *Processor) Process(ctx context.Context, spec listinggen.ImageSpec, inputs []listinggen.ImageInput) (listinggen.ImageResult, error) {
	if err := spec.Validate(); err != nil {
		return listinggen.ImageResult{}, listinggen.WrapError(listinggen.EINTERNAL, err, "invalid image spec")
	}
	variants := Variants(spec, p.cfg.Render)
	type outcome struct {
		img *listinggen.ProcessedImage
		err error
	}
	outs := make([]outcome, len(inputs))
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case p.flight <- struct{}{}:
				defer func() { <-p.flight }()
			case <-ctx.Done():
				outs[i].err = listinggen.WrapError(listinggen.EUNAVAILABLE, ctx.Err(), "canceled before the image was processed")
				return
			}
			img, err := p.processOne(ctx, i, in, variants)
			outs[i] = outcome{img, err}
		}()
	}
	wg.Wait()
	var res listinggen.ImageResult
	for i, o := range outs {
		if o.err != nil {
			e := listinggen.ImageFailure{Index: i, URL: inputs[i].Label(), Code: listinggen.ErrorCode(o.err), Reason: listinggen.ErrorMessage(o.err)}
			if e.Code == listinggen.EINTERNAL {
				p.logger.ErrorContext(ctx, "image processing failed", "index", i, "url", e.URL, "err", o.err)
			} else {
				p.logger.InfoContext(ctx, "image refused", "index", i, "url", e.URL, "code", e.Code, "err", o.err)
			}
			res.Errors = append(res.Errors, e)
			continue
		}
		res.Images = append(res.Images, *o.img)
	}
	return res, ctx.Err()
}

// ProcessOne processes a single input; the error is a *listinggen.Error.
func (p *Processor) ProcessOne(ctx context.Context, spec listinggen.ImageSpec, in listinggen.ImageInput) (*listinggen.ProcessedImage, error) {
	res, err := p.Process(ctx, spec, []listinggen.ImageInput{in})
	if len(res.Images) == 1 {
		return &res.Images[0], nil
	}
	if len(res.Errors) == 1 {
		e := res.Errors[0]
		return nil, &listinggen.Error{Code: e.Code, Message: e.Reason}
	}
	return nil, err
}

// decodeAndRender holds a decode slot while the pixels are in memory.
func (p *Processor) decodeAndRender(ctx context.Context, data []byte, variants []VariantSpec) (*Source, PHash, []Variant, error) {
	select {
	case p.decode <- struct{}{}:
		defer func() { <-p.decode }()
	case <-ctx.Done():
		return nil, 0, nil, listinggen.WrapError(listinggen.EUNAVAILABLE, ctx.Err(), "canceled before the image was processed")
	}
	src, err := DecodeFor(data, p.cfg.Limits, variants)
	if err != nil {
		return nil, 0, nil, err
	}
	vs, err := Render(src, variants, p.cfg.Render)
	if err != nil {
		return nil, 0, nil, err
	}
	return src, src.PHash(), vs, nil
}

// read returns an input's file: uploaded, a demo photo, or fetched. Only
// http(s) URLs reach the fetcher.
func (p *Processor) read(ctx context.Context, in listinggen.ImageInput) ([]byte, error) {
	data := in.Data
	name, demo := listinggen.DemoImageName(in.URL)
	switch {
	case data != nil:
	case demo:
		var err error
		if data, err = p.demoPhoto(name); err != nil {
			return nil, err
		}
	default:
		f, err := p.fetcher.Fetch(ctx, in.URL)
		if err != nil {
			return nil, err
		}
		return f.Data, nil
	}
	if int64(len(data)) > p.cfg.Fetch.MaxBytes {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image is %d bytes, more than the limit of %d bytes", len(data), p.cfg.Fetch.MaxBytes)
	}
	return data, nil
}

func (p *Processor) processOne(ctx context.Context, idx int, in listinggen.ImageInput, variants []VariantSpec) (img *listinggen.ProcessedImage, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, listinggen.WrapError(listinggen.EINTERNAL, fmt.Errorf("panic: %v", r), "the image could not be processed")
		}
	}()
	data, err := p.read(ctx, in)
	if err != nil {
		return nil, err
	}
	src, hash, vs, err := p.decodeAndRender(ctx, data, variants)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	out := &listinggen.ProcessedImage{
		Index: idx, URL: in.Label(), Format: string(src.Format), Width: src.Width, Height: src.Height,
		Bytes: len(data), SHA256: hex.EncodeToString(sum[:]), PHash: uint64(hash),
		Variants: make([]listinggen.ImageVariant, len(vs)),
	}
	for i, v := range vs {
		key, err := p.store.Put(ctx, v.Data, v.ContentType())
		if err != nil {
			return nil, listinggen.WrapError(listinggen.ErrorCode(err), err, "could not store the %s variant", v.Name)
		}
		if key != v.SHA256 {
			return nil, listinggen.Errorf(listinggen.EINTERNAL, "the blob store returned key %q for the %s variant, not its sha256", key, v.Name)
		}
		out.Variants[i] = listinggen.ImageVariant{Name: v.Name, Width: v.Width, Height: v.Height, Bytes: v.Bytes, SHA256: v.SHA256}
	}
	return out, nil
}
