package api

import (
	"io"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

var (
	blobKeyPattern     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	variantFilePattern = regexp.MustCompile(`^[a-z0-9_]{1,32}\.jpg$`)
)

// getImage serves a stored variant. The key is the sha256 of the bytes, so
// the response never changes: strong ETag and immutable caching.
func (s *Server) getImage(c echo.Context) error {
	key, file := c.Param("id"), c.Param("variant")
	if !blobKeyPattern.MatchString(key) || !variantFilePattern.MatchString(file) || s.deps.Blobs == nil {
		return listinggen.Errorf(listinggen.ENOTFOUND, "image not found")
	}
	// Blobs are shared by content; a tenant reads only those it made.
	owned, err := s.deps.Store.ImageOwned(c.Request().Context(), tenant(c), key)
	if err != nil {
		return err
	}
	if !owned {
		return listinggen.Errorf(listinggen.ENOTFOUND, "image not found")
	}
	rc, info, err := s.deps.Blobs.Open(c.Request().Context(), key)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Response().Header()
	h.Set("ETag", info.ETag())
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(echo.HeaderContentType, "image/jpeg")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(c.Response(), c.Request(), "", info.ModTime, rs)
		return nil
	}
	return c.Stream(http.StatusOK, "image/jpeg", rc)
}

type imageRequest struct {
	URL      string              `json:"url"`
	Platform listinggen.Platform `json:"platform"`
	Category string              `json:"category"`
}

// postImage makes a platform's variants of one image: an upload
// (multipart field "file") or a URL fetched with the same guards as product
// images.
func (s *Server) postImage(c echo.Context) error {
	if !s.deps.Pipeline.ImagesEnabled() {
		return listinggen.Errorf(listinggen.EUNAVAILABLE, "the image stage is not enabled on this server")
	}
	var req imageRequest
	var in listinggen.ImageInput
	if isJSON(c.Request().Header.Get(echo.HeaderContentType)) {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if fe := listinggen.CheckText("url", req.URL, 2048, false); fe != nil {
			return listinggen.Invalid(fe)
		}
		in.URL = req.URL
	} else {
		req.Platform = listinggen.Platform(c.FormValue("platform"))
		req.Category = c.FormValue("category")
		fh, err := c.FormFile("file")
		if err != nil {
			return listinggen.Invalid([]listinggen.FieldError{{Field: "file", Message: "is required: the image as a multipart file field"}})
		}
		f, err := fh.Open()
		if err != nil {
			return listinggen.WrapError(listinggen.EINVALID, err, "could not read the uploaded file")
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return listinggen.WrapError(listinggen.EINVALID, err, "could not read the uploaded file")
		}
		in.Data, in.Name = data, "upload:"+fh.Filename
	}
	var img *listinggen.ProcessedImage
	var variants []listinggen.ImageVariant
	err := s.withPipelineSlot(c, func() (err error) {
		img, variants, err = s.deps.Pipeline.MakeImage(c.Request().Context(), tenant(c), req.Platform, req.Category, in)
		return err
	})
	if err != nil {
		return err
	}
	out := map[string]any{"url": img.URL, "format": img.Format, "width": img.Width, "height": img.Height, "bytes": img.Bytes,
		"sha256": img.SHA256, "phash": listinggen.FormatPHash(img.PHash)}
	out["variants"] = variants
	return c.JSON(http.StatusCreated, out)
}
