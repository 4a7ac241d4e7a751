package listinggen

import (
	"context"
	"fmt"
	"time"
)

// Platform is a marketplace a shop publishes to. Its rules (title length,
// image specs) live in platform/ as data.
type Platform string

const (
	PlatformDouyin    Platform = "douyin"
	PlatformTaobao    Platform = "taobao"
	PlatformPinduoduo Platform = "pinduoduo"
	PlatformGeneric   Platform = "generic"
)

// Platforms lists the supported platforms in a stable order.
var Platforms = []Platform{PlatformDouyin, PlatformTaobao, PlatformPinduoduo, PlatformGeneric}

// Valid reports whether p is a supported platform.
func (p Platform) Valid() bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// Shop is one of a seller's shops. Shops in the same Group are checked
// against each other for duplicate copy, because platforms link such shops.
type Shop struct {
	ID       string   `json:"id"`
	TenantID string   `json:"-"`
	Name     string   `json:"name"`
	Platform Platform `json:"platform"`
	Group    string   `json:"group,omitempty"`
	Style    string   `json:"style,omitempty"`
	// WordRules are the shop's own banned and allowed words and its
	// authorised brands; Rules override the platform's text limits.
	WordRules
	Rules RuleOverrides `json:"rules"`
	// Licences are the licences and test reports the shop declares it
	// holds (cosmetics_special, health_food …; the compliance checker
	// lists them): a claim that needs one (美白, 降血压) is allowed in its
	// listings for the product categories the licence covers, and blocks
	// otherwise.
	Licences  []string  `json:"licences,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxLicences bounds the licences a shop declares.
const MaxLicences = 50

// Validate reports every problem with the shop's client-settable fields.
func (s *Shop) Validate() error {
	var errs []FieldError
	errs = append(errs, requireText("name", s.Name, MaxShortTextRunes, false)...)
	if !s.Platform.Valid() {
		errs = append(errs, FieldError{"platform", fmt.Sprintf("must be one of %v", Platforms)})
	}
	errs = append(errs, CheckText("group", s.Group, MaxShortTextRunes, false)...)
	errs = append(errs, CheckText("style", s.Style, 2000, true)...)
	errs = append(errs, s.WordRules.Validate("")...)
	errs = append(errs, s.Rules.Validate("rules")...)
	errs = append(errs, s.validateLicences()...)
	return Invalid(errs)
}

func (s *Shop) validateLicences() []FieldError {
	var errs []FieldError
	if len(s.Licences) > MaxLicences {
		errs = append(errs, FieldError{"licences", fmt.Sprintf("has more than %d entries", MaxLicences)})
	}
	for i, l := range s.Licences {
		errs = append(errs, requireText(fmt.Sprintf("licences[%d]", i), l, MaxShortTextRunes, false)...)
	}
	return errs
}

// ShopFilter selects shops; Cursor continues a previous page.
type ShopFilter struct {
	Group  string
	Cursor string
	Limit  int
}

// ShopService stores shop profiles and a tenant's own word rules.
type ShopService interface {
	CreateShop(ctx context.Context, shop *Shop) error
	FindShop(ctx context.Context, tenantID, id string) (*Shop, error)
	FindShops(ctx context.Context, tenantID string, filter ShopFilter) (Page[*Shop], error)
	// UpdateShop writes every client-settable field of an existing shop
	// except the platform, which its listings were written for.
	UpdateShop(ctx context.Context, shop *Shop) error
	// DeleteShop removes a shop without listings; ECONFLICT if it has some.
	DeleteShop(ctx context.Context, tenantID, id string) error
	// TenantWords returns the tenant's word rules (empty if never set).
	TenantWords(ctx context.Context, tenantID string) (WordRules, error)
	SetTenantWords(ctx context.Context, tenantID string, words WordRules) error
}

// ShopSettings is the part of a shop stores keep as one document.
type ShopSettings struct {
	WordRules
	Rules    RuleOverrides `json:"rules"`
	Licences []string      `json:"licences,omitempty"`
}

// Settings returns the part of the shop stores keep as one document.
func (s *Shop) Settings() ShopSettings {
	return ShopSettings{WordRules: s.WordRules, Rules: s.Rules, Licences: s.Licences}
}

// SetSettings sets the fields of the shop that st holds.
func (s *Shop) SetSettings(st ShopSettings) {
	s.WordRules, s.Rules, s.Licences = st.WordRules, st.Rules, st.Licences
}

// Page is one page of a cursor-paginated list. NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// CheckStorable reports shop text no store may keep; see Listing.CheckStorable.
func (s *Shop) CheckStorable() error {
	var errs []FieldError
	errs = append(errs, CheckText("id", s.ID, 0, false)...)
	errs = append(errs, CheckText("name", s.Name, 0, false)...)
	errs = append(errs, CheckText("group", s.Group, 0, false)...)
	errs = append(errs, CheckText("style", s.Style, 0, true)...)
	errs = append(errs, CheckText("platform", string(s.Platform), 0, false)...)
	errs = append(errs, s.WordRules.Validate("")...)
	errs = append(errs, s.validateLicences()...)
	return Invalid(errs)
}
