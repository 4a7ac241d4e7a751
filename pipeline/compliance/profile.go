// Package compliance holds the platform profiles and the word lists as
// embedded data, and checks copy against them. Sellers are fined for
// advertising-law violations and lose listings to platform rules, so every
// verdict names the rule it comes from.
package compliance

import (
	"embed"
	"encoding/json"
	"fmt"

	"github.com/listinggen/listinggen"
)

//go:embed data/*.json
var dataFS embed.FS

// Profile is one platform's rules, loaded from data/<platform>.json. Every
// block carries a Source note saying where the figure comes from.
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
	// Images is the image specification, used by the image stage.
	Images json.RawMessage `json:"images"`
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

func loadProfiles() (map[listinggen.Platform]*Profile, error) {
	out := make(map[listinggen.Platform]*Profile)
	for _, pl := range listinggen.Platforms {
		b, err := dataFS.ReadFile("data/" + string(pl) + ".json")
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", pl, err)
		}
		var p Profile
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("profile %s: %w", pl, err)
		}
		if p.Platform != pl {
			return nil, fmt.Errorf("profile file %s.json declares platform %q", pl, p.Platform)
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		out[pl] = &p
	}
	return out, nil
}
