// Package platform holds each marketplace's rules as data: the copy limits
// and the image specification per platform and category, loaded from the
// embedded data/<platform>.json files. Every block names its source, so
// that a limit can be checked against the platform's published rules.
package platform

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/listinggen/listinggen"
)

//go:embed data/*.json
var dataFS embed.FS

// Profile is one platform's rules.
type Profile struct {
	Platform listinggen.Platform `json:"platform"`
	Name     string              `json:"name"`
	Title    struct {
		MaxUnits    int    `json:"max_units"`
		Counting    string `json:"counting"`
		ForbidEmoji bool   `json:"forbid_emoji"`
		Source      string `json:"source"`
	} `json:"title"`
	SellingPoints struct {
		Max      int    `json:"max"`
		MaxUnits int    `json:"max_units"`
		Source   string `json:"source"`
	} `json:"selling_points"`
	Description struct {
		MaxRunes int    `json:"max_runes"`
		Source   string `json:"source"`
	} `json:"description"`
	// ImagesJSON is the "images" block as written: a shop's overrides are
	// laid over its fields (ImagesWith), so that a shop names only what it
	// changes.
	ImagesJSON json.RawMessage `json:"images"`
	// Images is that block parsed.
	Images listinggen.ImageSpec `json:"-"`
}

// TextRules returns the limits a rewriter must respect on this platform.
func (p *Profile) TextRules() listinggen.TextRules {
	return listinggen.TextRules{
		Platform:             p.Platform,
		TitleMaxUnits:        p.Title.MaxUnits,
		ForbidEmoji:          p.Title.ForbidEmoji,
		MaxSellingPoints:     p.SellingPoints.Max,
		SellingPointMaxUnits: p.SellingPoints.MaxUnits,
		DescriptionMaxRunes:  p.Description.MaxRunes,
	}
}

// ImagesWith returns the image specification with a shop's overrides
// (Shop.Rules.Images) laid over the profile's fields. An override that
// makes an invalid specification is an EINVALID error on rules.images.
func (p *Profile) ImagesWith(overrides map[string]json.RawMessage) (listinggen.ImageSpec, error) {
	if len(overrides) == 0 {
		return p.Images, nil
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(p.ImagesJSON, &fields); err != nil {
		return listinggen.ImageSpec{}, err
	}
	for k, v := range overrides {
		fields[k] = v
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return listinggen.ImageSpec{}, err
	}
	spec, err := listinggen.ParseImageSpec(raw)
	if err != nil {
		return listinggen.ImageSpec{}, listinggen.Invalid([]listinggen.FieldError{{Field: "rules.images", Message: err.Error()}})
	}
	return spec, nil
}

func (p *Profile) validate() error {
	if !p.Platform.Valid() {
		return fmt.Errorf("unknown platform %q", p.Platform)
	}
	if p.Title.MaxUnits <= 0 || p.SellingPoints.Max <= 0 || p.SellingPoints.MaxUnits <= 0 || p.Description.MaxRunes <= 0 {
		return fmt.Errorf("profile %s: every limit must be positive", p.Platform)
	}
	if p.Title.Source == "" {
		return fmt.Errorf("profile %s: title rule has no source note", p.Platform)
	}
	return nil
}

// Profiles returns every platform's profile. The data is embedded and
// checked by the tests, so it loads once; an error is a broken build.
var Profiles = sync.OnceValues(load)

// Lookup returns a platform's profile; an unknown platform gets generic's.
func Lookup(pl listinggen.Platform) *Profile {
	profiles, err := Profiles()
	if err != nil {
		panic(err)
	}
	if p, ok := profiles[pl]; ok {
		return p
	}
	return profiles[listinggen.PlatformGeneric]
}

func load() (map[listinggen.Platform]*Profile, error) {
	out := make(map[listinggen.Platform]*Profile)
	for _, pl := range listinggen.Platforms {
		b, err := dataFS.ReadFile("data/" + string(pl) + ".json")
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", pl, err)
		}
		var p Profile
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("profile %s: %w", pl, err)
		}
		if p.Platform != pl {
			return nil, fmt.Errorf("profile file %s.json declares platform %q", pl, p.Platform)
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		if p.Images, err = listinggen.ParseImageSpec(p.ImagesJSON); err != nil {
			return nil, fmt.Errorf("profile %s: %w", pl, err)
		}
		out[pl] = &p
	}
	return out, nil
}
