package listinggen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ImageSpec is a platform's image specification: the "images" block of its
// profile (platform/data/<platform>.json).
type ImageSpec struct {
	// MainMax is how many main (carousel) images the platform accepts.
	MainMax int `json:"main_max"`
	// MainMinPx is the smallest side of a main image.
	MainMinPx int `json:"main_min_px"`
	// MainMaxBytes is the largest main image file.
	MainMaxBytes int64 `json:"main_max_bytes"`
	// MainRatio is the main image's aspect ratio, "1:1" by default.
	MainRatio ImageRatio `json:"main_ratio"`
	// MainSize is the main image's size in pixels when the platform names
	// one; otherwise RenderConfig.MainSide decides.
	MainSize ImageSize `json:"main_size,omitempty"`
	// Formats the platform accepts ("jpeg", "png").
	Formats []string `json:"formats,omitempty"`
	// Detail, when set, asks for a detail-page image of bounded width.
	Detail *ImageDetailSpec `json:"detail,omitempty"`
	// CategoryOverrides add main image shapes for some categories.
	CategoryOverrides []ImageCategoryOverride `json:"category_overrides,omitempty"`
	// Source says where the figures come from.
	Source string `json:"source,omitempty"`

	// ExtraMains are the main image shapes a category needs in addition to
	// MainRatio (for example 3:4 for apparel); ForCategory sets them.
	ExtraMains []ImageShape `json:"-"`
}

// ImageDetailSpec bounds a detail-page image (Pinduoduo detail_gallery).
type ImageDetailSpec struct {
	MinWidth  int   `json:"min_width"`
	MaxWidth  int   `json:"max_width"`
	MaxHeight int   `json:"max_height"`
	MaxBytes  int64 `json:"max_bytes"`
	MaxCount  int   `json:"max_count"`
}

// ImageCategoryOverride applies when the product's category path contains any of
// CategoryContains.
type ImageCategoryOverride struct {
	CategoryContains []string   `json:"category_contains"`
	MainRatio        ImageRatio `json:"main_ratio"`
	MainSize         ImageSize  `json:"main_size,omitempty"`
	Note             string     `json:"note,omitempty"`
}

// ImageShape is an aspect ratio with an optional exact size.
type ImageShape struct {
	Ratio ImageRatio
	Size  ImageSize
}

// ImageRatio is a width:height aspect ratio such as 3:4.
type ImageRatio struct{ W, H int }

func (r ImageRatio) String() string { return fmt.Sprintf("%d:%d", r.W, r.H) }

// IsZero reports an unset ratio.
func (r ImageRatio) IsZero() bool { return r.W == 0 && r.H == 0 }

// MarshalText writes "W:H".
func (r ImageRatio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses "W:H" with positive integers.
func (r *ImageRatio) UnmarshalText(b []byte) error {
	w, h, ok := strings.Cut(string(b), ":")
	iw, err1 := strconv.Atoi(strings.TrimSpace(w))
	ih, err2 := strconv.Atoi(strings.TrimSpace(h))
	if !ok || err1 != nil || err2 != nil || iw <= 0 || ih <= 0 || iw > 100 || ih > 100 {
		return fmt.Errorf("ratio %q must look like 3:4", b)
	}
	*r = ImageRatio{iw, ih}
	return nil
}

// ImageSize is [width, height] in pixels; the zero ImageSize means "not given".
type ImageSize [2]int

// IsZero reports an unset size.
func (s ImageSize) IsZero() bool { return s == ImageSize{} }

// ParseImageSpec decodes a profile's "images" block. Unknown fields are refused
// so that a typo in the data is not silently ignored.
func ParseImageSpec(raw json.RawMessage) (ImageSpec, error) {
	var s ImageSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return ImageSpec{}, fmt.Errorf("image spec: %w", err)
	}
	if s.MainRatio.IsZero() {
		s.MainRatio = ImageRatio{1, 1}
	}
	for i := range s.CategoryOverrides {
		if s.CategoryOverrides[i].MainRatio.IsZero() {
			s.CategoryOverrides[i].MainRatio = s.MainRatio
		}
	}
	return s, s.Validate()
}

// Validate reports every problem with the spec at once.
func (s ImageSpec) Validate() error {
	var errs []error
	if s.MainMinPx < 0 {
		errs = append(errs, errors.New("image spec main_min_px must not be negative"))
	}
	if s.MainMaxBytes < 0 {
		errs = append(errs, errors.New("image spec main_max_bytes must not be negative"))
	}
	if s.MainRatio.W <= 0 || s.MainRatio.H <= 0 {
		errs = append(errs, errors.New("image spec main_ratio must be set, such as 1:1"))
	}
	checkSize := func(name string, sz ImageSize, ratio ImageRatio, minPx int) {
		if sz.IsZero() {
			return
		}
		if sz[0] <= 0 || sz[1] <= 0 || sz[0] > 10000 || sz[1] > 10000 {
			errs = append(errs, fmt.Errorf("image spec %s %v must be between 1 and 10000 pixels", name, sz))
			return
		}
		if min(sz[0], sz[1]) < minPx {
			errs = append(errs, fmt.Errorf("image spec %s %v is below main_min_px %d", name, sz, minPx))
		}
		if ratio.W > 0 && ratio.H > 0 && sz[0]*ratio.H != sz[1]*ratio.W {
			errs = append(errs, fmt.Errorf("image spec %s %v does not have ratio %s", name, sz, ratio))
		}
	}
	checkSize("main_size", s.MainSize, s.MainRatio, s.MainMinPx)
	if len(s.Formats) > 0 && !slices.Contains(s.Formats, "jpeg") {
		errs = append(errs, errors.New("image spec formats must include jpeg, the format variants are made in"))
	}
	if d := s.Detail; d != nil {
		if d.MaxWidth <= 0 || d.MinWidth < 0 || d.MinWidth > d.MaxWidth {
			errs = append(errs, errors.New("image spec detail needs 0 <= min_width <= max_width, max_width > 0"))
		}
		if d.MaxHeight < 0 || d.MaxBytes < 0 || d.MaxCount < 0 {
			errs = append(errs, errors.New("image spec detail limits must not be negative"))
		}
	}
	for i, o := range s.CategoryOverrides {
		if len(o.CategoryContains) == 0 {
			errs = append(errs, fmt.Errorf("image spec category_overrides[%d] has no category_contains", i))
		}
		if o.MainRatio.W <= 0 || o.MainRatio.H <= 0 {
			errs = append(errs, fmt.Errorf("image spec category_overrides[%d] main_ratio must be set", i))
		}
		// main_min_px is the square main image's minimum; Taobao's 3:4
		// apparel images are 750 wide under an 800 px minimum.
		checkSize(fmt.Sprintf("category_overrides[%d].main_size", i), o.MainSize, o.MainRatio, 0)
	}
	return errors.Join(errs...)
}

// ForCategory returns the spec for a product in category (a path such as
// "女装/连衣裙"): every override whose category_contains matches adds its
// shape to ExtraMains, or replaces the main size when it has the main ratio.
func (s ImageSpec) ForCategory(category string) ImageSpec {
	out := s
	out.ExtraMains = slices.Clone(s.ExtraMains)
	if category == "" {
		return out
	}
	for _, o := range s.CategoryOverrides {
		if !slices.ContainsFunc(o.CategoryContains, func(c string) bool { return c != "" && strings.Contains(category, c) }) {
			continue
		}
		if o.MainRatio == out.MainRatio {
			if !o.MainSize.IsZero() {
				out.MainSize = o.MainSize
			}
			continue
		}
		shape := ImageShape{Ratio: o.MainRatio, Size: o.MainSize}
		if !slices.Contains(out.ExtraMains, shape) {
			out.ExtraMains = append(out.ExtraMains, shape)
		}
	}
	return out
}
