package pipeline

import (
	"context"
	"fmt"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/platform"
)

// MakeImage makes a platform's variants of one image (an upload or a URL
// fetched with the product images' guards) for a product category, records
// the tenant as their owner and returns them as a listing would hold them.
// Without an image processor it is an EUNAVAILABLE error.
func (p *Pipeline) MakeImage(ctx context.Context, tenantID string, pl listinggen.Platform, category string, in listinggen.ImageInput) (*listinggen.ProcessedImage, []listinggen.ImageVariant, error) {
	if p.cfg.Images == nil {
		return nil, nil, listinggen.Errorf(listinggen.EUNAVAILABLE, "the image stage is not enabled on this server")
	}
	if !pl.Valid() {
		return nil, nil, listinggen.Invalid([]listinggen.FieldError{{Field: "platform", Message: fmt.Sprintf("must be one of %v", listinggen.Platforms)}})
	}
	img, err := p.cfg.Images.ProcessOne(ctx, platform.Lookup(pl).Images.ForCategory(category), in)
	if err != nil {
		return nil, nil, err
	}
	variants, err := p.KeepImage(ctx, tenantID, *img)
	if err != nil {
		return nil, nil, err
	}
	return img, variants, nil
}

// ImagesEnabled says whether the pipeline makes image variants.
func (p *Pipeline) ImagesEnabled() bool { return p.cfg.Images != nil }

// ShopImageSpec is the platform's image specification with the shop's
// overrides (Shop.Rules.Images) laid over the profile's fields; an override
// that makes an invalid specification is an EINVALID error naming it.
func (p *Pipeline) ShopImageSpec(shop *listinggen.Shop) (listinggen.ImageSpec, error) {
	return platform.Lookup(shop.Platform).ImagesWith(shop.Rules.Images)
}

// images fetches and resizes the product's images for the shop's platform
// and category. One bad image is recorded (image_errors) and the rest go
// on; the listing needs review only when no main image could be made.
// Without an image processor the images stay pending.
func (p *Pipeline) images(ctx context.Context, st *state) error {
	if st.reuseImages {
		// Made by an earlier attempt of Generate; only its reason is due.
		if st.ImagesStatus == listinggen.ImagesFailed {
			st.ReviewReasons = append(st.ReviewReasons, noMainImage(len(st.Images)))
		}
		return nil
	}
	st.Images = make([]listinggen.ListingImage, len(st.Product.Images))
	for i, img := range st.Product.Images {
		st.Images[i] = listinggen.ListingImage{SourceURL: img.URL, Status: listinggen.ImagesPending}
	}
	switch {
	case p.cfg.Images == nil:
		st.ImagesStatus = listinggen.ImagesPending
		return nil
	case len(st.Product.Images) == 0:
		st.ImagesStatus = listinggen.ImagesNone
		return nil
	}
	inputs := make([]listinggen.ImageInput, len(st.Product.Images))
	for i, img := range st.Product.Images {
		inputs[i] = listinggen.ImageInput{URL: img.URL}
	}
	spec, err := p.ShopImageSpec(st.Shop)
	if err != nil {
		return err
	}
	spec = spec.ForCategory(st.Product.Category)
	res, err := p.cfg.Images.Process(ctx, spec, inputs)
	if err != nil {
		return err
	}
	for _, img := range res.Images {
		li := &st.Images[img.Index]
		li.Status, li.Format, li.Width, li.Height, li.Bytes = listinggen.ImagesReady, string(img.Format), img.Width, img.Height, img.Bytes
		li.SHA256, li.PHash = img.SHA256, listinggen.FormatPHash(img.PHash)
		variants, err := p.KeepImage(ctx, st.TenantID, img)
		if err != nil {
			return err
		}
		li.Variants = variants
	}
	for _, e := range res.Errors {
		if p.cfg.Observer != nil {
			p.cfg.Observer.ImageError(e.Code)
		}
		st.Images[e.Index].Status = listinggen.ImagesFailed
		st.ImageErrors = append(st.ImageErrors, listinggen.ImageError{URL: e.URL, Code: e.Code, Reason: e.Reason})
	}
	switch {
	case !res.HasMain():
		st.ImagesStatus = listinggen.ImagesFailed
		st.ReviewReasons = append(st.ReviewReasons, noMainImage(len(inputs)))
	case len(res.Errors) > 0:
		st.ImagesStatus = listinggen.ImagesPartial
	default:
		st.ImagesStatus = listinggen.ImagesReady
	}
	return nil
}

// KeepImage records the tenant as the owner of an image's variants, before
// anything that links them is saved (blobs are shared by content, and a
// tenant may read only those it made), and returns the variants as a
// listing holds them.
func (p *Pipeline) KeepImage(ctx context.Context, tenantID string, img listinggen.ProcessedImage) ([]listinggen.ImageVariant, error) {
	keys := make([]string, len(img.Variants))
	variants := make([]listinggen.ImageVariant, len(img.Variants))
	for i, v := range img.Variants {
		keys[i] = v.SHA256
		variants[i] = listinggen.ImageVariant{Name: v.Name, URL: listinggen.ImageVariantURL(v.SHA256, v.Name),
			Width: v.Width, Height: v.Height, Bytes: v.Bytes, SHA256: v.SHA256}
	}
	if len(keys) > 0 {
		if err := p.cfg.Store.AddImageOwner(ctx, tenantID, keys); err != nil {
			return nil, err
		}
	}
	return variants, nil
}

func noMainImage(sources int) string {
	return fmt.Sprintf("images: no main image could be made from %d source image(s)", sources)
}

// imageReasons keeps the image stage's reason on a listing whose copy a
// person edited: an edit does not make an image.
func imageReasons(l *listinggen.Listing) []string {
	if l.ImagesStatus == listinggen.ImagesFailed {
		return []string{noMainImage(len(l.Images))}
	}
	return nil
}

// HashImages fetches images with the pipeline's guards and returns the
// perceptual hashes of those that could be read, in order, and why the
// others could not. Without an image processor it is an EINVALID error on
// field: there is nothing to fetch with.
func (p *Pipeline) HashImages(ctx context.Context, field string, urls []string) ([]uint64, []listinggen.ImageError, error) {
	if p.cfg.Images == nil {
		return nil, nil, listinggen.Invalid([]listinggen.FieldError{{Field: field, Message: "image processing is off on this server; send image_phashes instead"}})
	}
	inputs := make([]listinggen.ImageInput, len(urls))
	for i, u := range urls {
		inputs[i] = listinggen.ImageInput{URL: u}
	}
	res, err := p.cfg.Images.Process(ctx, platform.Lookup(listinggen.PlatformGeneric).Images, inputs)
	if err != nil {
		return nil, nil, err
	}
	hashes := make([]uint64, 0, len(res.Images))
	for _, img := range res.Images {
		hashes = append(hashes, img.PHash)
	}
	var errs []listinggen.ImageError
	for _, e := range res.Errors {
		errs = append(errs, listinggen.ImageError{URL: e.URL, Code: e.Code, Reason: e.Reason})
	}
	return hashes, errs, nil
}
