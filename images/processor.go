package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/listinggen/listinggen/platform"

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

// Input is one source image: a URL to fetch, or uploaded bytes.
type Input struct {
	// URL is fetched when Data is nil.
	URL string
	// Data is an uploaded file; Name (for example "upload:photo.jpg")
	// identifies it in results and errors.
	Data []byte
	Name string
}

func (in Input) label() string {
	if in.Data != nil {
		if in.Name != "" {
			return in.Name
		}
		return "upload"
	}
	return in.URL
}

// Image is a processed source image.
type Image struct {
	// Index is the position of the input in the Process call.
	Index int `json:"index"`
	// URL is the input's URL (or upload name).
	URL string `json:"url"`
	// Format, Width and Height describe the source as displayed (after
	// EXIF orientation); Bytes and SHA256 its file.
	Format Format `json:"format"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	// PHash is the perceptual hash of the source, for duplicate detection.
	PHash PHash `json:"phash"`
	// Variants are stored in the BlobPutter under their SHA256; Data is nil.
	Variants []Variant `json:"variants"`
}

// Variant returns the variant with the given name.
func (im *Image) Variant(name string) (Variant, bool) {
	for _, v := range im.Variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// ImageError records why one input produced no image. Code is a
// listinggen error code; Reason is safe to show to clients.
type ImageError struct {
	Index  int    `json:"index"`
	URL    string `json:"url"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (e ImageError) Error() string { return fmt.Sprintf("image %d (%s): %s", e.Index, e.URL, e.Reason) }

// Result is the outcome of a Process call: one entry in Images or in Errors
// for every input, each list in input order.
type Result struct {
	Images []Image      `json:"images"`
	Errors []ImageError `json:"image_errors,omitempty"`
}

// HasMain reports whether at least one image produced a main variant; a
// listing without one needs review.
func (r Result) HasMain() bool {
	for i := range r.Images {
		if _, ok := r.Images[i].Variant(VariantMain); ok {
			return true
		}
	}
	return false
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

// Process makes the variants of spec (already narrowed with ForCategory)
// for every input, concurrently within the processor's bounds. A bad image
// never fails the others: each failure is one ImageError. Process returns
// an error only when ctx ends first; the partial Result is still returned.
func (p *Processor) Process(ctx context.Context, spec platform.ImageSpec, inputs []Input) (Result, error) {
	if err := spec.Validate(); err != nil {
		return Result{}, listinggen.WrapError(listinggen.EINTERNAL, err, "invalid image spec")
	}
	variants := Variants(spec, p.cfg.Render)
	type outcome struct {
		img *Image
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
	var res Result
	for i, o := range outs {
		if o.err != nil {
			e := ImageError{Index: i, URL: inputs[i].label(), Code: listinggen.ErrorCode(o.err), Reason: listinggen.ErrorMessage(o.err)}
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
func (p *Processor) ProcessOne(ctx context.Context, spec platform.ImageSpec, in Input) (*Image, error) {
	res, err := p.Process(ctx, spec, []Input{in})
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

func (p *Processor) processOne(ctx context.Context, idx int, in Input, variants []VariantSpec) (img *Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, listinggen.WrapError(listinggen.EINTERNAL, fmt.Errorf("panic: %v", r), "the image could not be processed")
		}
	}()
	data := in.Data
	if data == nil {
		f, err := p.fetcher.Fetch(ctx, in.URL)
		if err != nil {
			return nil, err
		}
		data = f.Data
	} else if int64(len(data)) > p.cfg.Fetch.MaxBytes {
		return nil, listinggen.Errorf(listinggen.ETOOLARGE,
			"the image is %d bytes, more than the limit of %d bytes", len(data), p.cfg.Fetch.MaxBytes)
	}
	src, hash, vs, err := p.decodeAndRender(ctx, data, variants)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	out := &Image{
		Index: idx, URL: in.label(), Format: src.Format, Width: src.Width, Height: src.Height,
		Bytes: len(data), SHA256: hex.EncodeToString(sum[:]), PHash: hash, Variants: vs,
	}
	for i := range out.Variants {
		v := &out.Variants[i]
		key, err := p.store.Put(ctx, v.Data, v.ContentType())
		if err != nil {
			return nil, listinggen.WrapError(listinggen.ErrorCode(err), err, "could not store the %s variant", v.Name)
		}
		if key != v.SHA256 {
			return nil, listinggen.Errorf(listinggen.EINTERNAL, "the blob store returned key %q for the %s variant, not its sha256", key, v.Name)
		}
		v.Data = nil
	}
	return out, nil
}
