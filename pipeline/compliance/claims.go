package compliance

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/listinggen/listinggen"
)

// Scope is what a check knows of a listing beyond its text: the platform
// (a platform's own name is no diversion on it), the product's category
// path (女装/连衣裙) and the licences the shop declares, which together
// decide whether a claim such as 美白 or 降血压 may be made.
type Scope struct {
	Platform listinggen.Platform
	Category string
	Licences []string
}

// In returns a checker that judges text for scope. It shares c's automata.
func (c *Checker) In(s Scope) *Checker {
	d := *c
	d.scope = s
	d.productCats = c.claims.categoriesOf(s.Category)
	return &d
}

// Licence is a licence or test report a shop can declare, which makes the
// claims that need it lawful for the product categories that allow them.
type Licence struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
}

// Licences lists the licences a shop can declare, by ID.
func (c *Checker) Licences() []Licence {
	out := make([]Licence, 0, len(c.claims.Licences))
	for id, l := range c.claims.Licences {
		l.ID = id
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckLicences reports, as field errors under field, the IDs in ids that
// name no licence.
func (c *Checker) CheckLicences(field string, ids []string) []listinggen.FieldError {
	var errs []listinggen.FieldError
	for i, id := range ids {
		if _, ok := c.claims.Licences[id]; !ok {
			known := make([]string, 0, len(c.claims.Licences))
			for _, l := range c.Licences() {
				known = append(known, l.ID)
			}
			errs = append(errs, listinggen.FieldError{Field: fmt.Sprintf("%s[%d]", field, i),
				Message: fmt.Sprintf("unknown licence %q; one of %s", id, strings.Join(known, ", "))})
		}
	}
	return errs
}

// claimSet is data/claims.json.
type claimSet struct {
	ProductCategories map[string]productCategory `json:"product_categories"`
	Licences          map[string]Licence         `json:"licences"`
	Claims            []*claim                   `json:"claims"`
}

// productCategory is a kind of product that claims are judged for, found
// by words of its category path.
type productCategory struct {
	Name  string   `json:"name"`
	Match []string `json:"match"`
}

// claim is a group of terms that are lawful only for the product
// categories in Needs, each with the licence it takes there.
type claim struct {
	ID     string            `json:"id"`
	Rule   string            `json:"rule"`
	Source string            `json:"source"`
	Terms  []string          `json:"terms"`
	Needs  map[string]string `json:"needs"`
}

func (s *claimSet) validate() error {
	var errs []error
	for _, cm := range s.Claims {
		for cat, lic := range cm.Needs {
			if _, ok := s.ProductCategories[cat]; !ok {
				errs = append(errs, fmt.Errorf("claims.json: claim %q needs unknown product category %q", cm.ID, cat))
			}
			if _, ok := s.Licences[lic]; !ok {
				errs = append(errs, fmt.Errorf("claims.json: claim %q needs unknown licence %q", cm.ID, lic))
			}
		}
		if cm.ID == "" || cm.Rule == "" || cm.Source == "" {
			errs = append(errs, fmt.Errorf("claims.json: claim %q needs an id, a rule and a source", cm.ID))
		}
	}
	return errors.Join(errs...)
}

// categoriesOf returns the product categories whose words the category
// path contains, in order of their IDs.
func (s *claimSet) categoriesOf(path string) []string {
	if path == "" {
		return nil
	}
	var out []string
	for id, pc := range s.ProductCategories {
		for _, w := range pc.Match {
			if strings.Contains(path, w) {
				out = append(out, id)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// allows reports whether a claim is lawful for a product in cats (none:
// not known) from a shop holding licences, and if not, why. With the
// category unknown, any licence that allows the claim somewhere will do.
func (s *claimSet) allows(cm *claim, cats, licences []string) (bool, string) {
	var needed []string
	if len(cats) == 0 {
		for _, lic := range cm.Needs {
			if slices.Contains(licences, lic) {
				return true, ""
			}
			needed = append(needed, s.Licences[lic].Name)
		}
	} else {
		for _, cat := range cats {
			lic, ok := cm.Needs[cat]
			if !ok {
				continue
			}
			if slices.Contains(licences, lic) {
				return true, ""
			}
			needed = append(needed, s.Licences[lic].Name)
		}
		if len(needed) == 0 {
			names := make([]string, len(cats))
			for i, cat := range cats {
				names[i] = s.ProductCategories[cat].Name
			}
			return false, "not a lawful claim for " + strings.Join(names, "、")
		}
	}
	if len(needed) == 0 {
		return false, "not a lawful claim for any product"
	}
	sort.Strings(needed)
	needed = slices.Compact(needed)
	return false, "the shop declares no " + strings.Join(needed, " or ")
}
