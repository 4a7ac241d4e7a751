package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/htmltext"
)

// pageNames are the templates in templates/, each rendered inside layout.
var pageNames = []string{"queue", "listing", "import", "signin", "jobs", "job"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"kb":           func(n int) string { return fmt.Sprintf("%.1f KB", float64(n)/1024) },
		"pct":          func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"usd":          func(f float64) string { return fmt.Sprintf("%.6f", f) },
		"when":         func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
		"units":        listinggen.TitleUnits,
		"rate":         func(f float64) string { return fmt.Sprintf("%.2f", f) },
		"eta":          eta,
		"otherReasons": otherReasons,
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// pageData is what every page template gets: the page's own data in Page,
// data for the page's script in JS (rendered as JSON, which scripts parse;
// never executed), and the chrome (language, CSRF token, sign-out).
type pageData struct {
	Name    string
	Lang    string
	CSRF    string
	Path    string
	SignOut bool
	Page    any
	JS      map[string]any
}

// T translates a message key into the page's language.
func (p *pageData) T(key string) string { return translate(p.Lang, key) }

// L is the label of an enumeration value in the page's language, as in
// {{$.L "status" .Status}}.
func (p *pageData) L(group string, value any) string { return label(p.Lang, group, value) }

// Named is the label of a value of an open set, such as a rewriter's name
// or a job's source (its file's name, or "items"), when there is one, and
// else the value itself.
func (p *pageData) Named(group, value string) string {
	if _, ok := messages[p.Lang][group+"."+value]; ok {
		return p.L(group, value)
	}
	return value
}

// F names a copy field in the page's language.
func (p *pageData) F(field string) string { return fieldLabel(p.Lang, field) }

// render writes a page with the security headers and no caching (pages
// show live review state).
func (u *UI) render(c echo.Context, status int, name string, page any, js map[string]any) error {
	h := c.Response().Header()
	securityHeaders(h)
	h.Set("Cache-Control", "no-store")
	lang := langOf(c)
	if js == nil {
		js = map[string]any{}
	}
	js["messages"] = messages[lang]
	data := &pageData{Name: name, Lang: lang, CSRF: csrfToken(c), Path: c.Request().URL.RequestURI(),
		SignOut: u.deps.Keys != nil && u.signedIn(c), Page: page, JS: js}
	var buf bytes.Buffer
	if err := u.pages[name].Execute(&buf, data); err != nil {
		return listinggen.WrapError(listinggen.EINTERNAL, err, "render page")
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// page wraps a page handler. The server's authentication sets the tenant
// in open mode and for a valid session; without one, a browser is sent to
// sign in (when keys can be checked) and nothing is served.
func (u *UI) page(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if tenantOf(c) == "" {
			if u.deps.Keys != nil {
				return c.Redirect(http.StatusSeeOther, "/ui/signin?next="+url.QueryEscape(c.Request().URL.RequestURI()))
			}
			// No keys and no tenant: the server's authentication did
			// not run for this path. Refuse rather than guess a tenant.
			return listinggen.Errorf(listinggen.EUNAUTHORIZED, "no tenant for this request")
		}
		return h(c)
	}
}

// allShops loads the tenant's shops for filters and names; a tenant with
// more than maxShops shops sees the first maxShops in the menus.
func (u *UI) allShops(c echo.Context) ([]*listinggen.Shop, error) {
	const maxShops = 2000
	var out []*listinggen.Shop
	cursor := ""
	for len(out) < maxShops {
		page, err := u.deps.Store.FindShops(c.Request().Context(), tenantOf(c), listinggen.ShopFilter{Cursor: cursor, Limit: listinggen.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	return out, nil
}

// queueFilter is the queue's filter form, read from the query string.
type queueFilter struct {
	Shop, Platform, Status, Verdict, Compliance, Job, Cursor string
}

func (f queueFilter) listingFilter() (listinggen.ListingFilter, error) {
	var errs []listinggen.FieldError
	if f.Platform != "" && !slices.Contains(listinggen.Platforms, listinggen.Platform(f.Platform)) {
		errs = append(errs, listinggen.FieldError{Field: "platform", Message: "is not a known platform"})
	}
	if f.Status != "" && !listinggen.ListingStatus(f.Status).Valid() {
		errs = append(errs, listinggen.FieldError{Field: "status", Message: "is not a known status"})
	}
	if f.Verdict != "" && !listinggen.Verdict(f.Verdict).Valid() {
		errs = append(errs, listinggen.FieldError{Field: "verdict", Message: "is not a known verdict"})
	}
	if f.Compliance != "" && f.Compliance != listinggen.ComplianceOK && f.Compliance != listinggen.ComplianceProblems {
		errs = append(errs, listinggen.FieldError{Field: "compliance", Message: "must be ok or problems"})
	}
	return listinggen.ListingFilter{ShopID: f.Shop, Platform: listinggen.Platform(f.Platform), Status: listinggen.ListingStatus(f.Status),
		Verdict: listinggen.Verdict(f.Verdict), Compliance: f.Compliance, JobID: f.Job, Cursor: f.Cursor}, listinggen.Invalid(errs)
}

// query is the filter as a query string, with the given cursor.
func (f queueFilter) query(cursor string) string {
	v := url.Values{}
	for k, val := range map[string]string{"shop": f.Shop, "platform": f.Platform, "status": f.Status, "verdict": f.Verdict,
		"compliance": f.Compliance, "job": f.Job, "cursor": cursor} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

// WithoutJob is the filter's URL without the job.
func (f queueFilter) WithoutJob() string {
	f.Job = ""
	return f.query("")
}

type queueRow struct {
	*listinggen.Listing
	ShopName   string
	Violations int
}

type queuePage struct {
	Filter queueFilter
	Shops  []*listinggen.Shop
	// Jobs are the recent batch jobs for the job filter (nil when batch
	// jobs are off); Job is the job filtered by.
	Jobs      []*listinggen.Job
	Job       *listinggen.Job
	Platforms []listinggen.Platform
	Statuses  []listinggen.ListingStatus
	Verdicts  []listinggen.Verdict
	Rows      []queueRow
	NextURL   string
	FirstURL  string
	Paged     bool
}

// queue is the review queue: one page of the tenant's listings, newest
// first, filtered, with keyset pagination (the store walks an index from
// the cursor, so page 2,000 costs what page 1 does).
func (u *UI) queue(c echo.Context) error {
	q := c.QueryParams()
	f := queueFilter{Shop: q.Get("shop"), Platform: q.Get("platform"), Status: q.Get("status"), Verdict: q.Get("verdict"),
		Compliance: q.Get("compliance"), Job: q.Get("job"), Cursor: q.Get("cursor")}
	lf, err := f.listingFilter()
	if err != nil {
		return err
	}
	shops, err := u.allShops(c)
	if err != nil {
		return err
	}
	page, err := u.deps.Store.FindListings(c.Request().Context(), tenantOf(c), lf)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, s := range shops {
		names[s.ID] = s.Name
	}
	data := queuePage{Filter: f, Shops: shops, Platforms: listinggen.Platforms, FirstURL: f.query(""), Paged: f.Cursor != "",
		Statuses: []listinggen.ListingStatus{listinggen.StatusDraft, listinggen.StatusNeedsReview, listinggen.StatusApproved, listinggen.StatusRejected},
		Verdicts: []listinggen.Verdict{listinggen.VerdictUnique, listinggen.VerdictSimilar, listinggen.VerdictDuplicate}}
	if page.NextCursor != "" {
		data.NextURL = f.query(page.NextCursor)
	}
	for _, l := range page.Items {
		data.Rows = append(data.Rows, queueRow{Listing: l, ShopName: names[l.ShopID], Violations: len(l.Compliance.Violations)})
	}
	if data.Jobs, data.Job, err = u.filterJobs(c, f.Job); err != nil {
		return err
	}
	return u.render(c, http.StatusOK, "queue", data, nil)
}

type violationRow struct {
	listinggen.Violation
	Note string
}

type listingPage struct {
	L                *listinggen.Listing
	Shop             *listinggen.Shop
	Rules            listinggen.TextRules
	Title            sideBySide
	Description      sideBySide
	SellingPoints    [][]Segment
	Violations       []violationRow
	SourceViolations []violationRow
	// ShopNames are the names of the shops of the listing's matches.
	ShopNames map[string]string
}

// listing is one listing: source and copy side by side with the changes
// and violations marked, images, duplicates, provenance, and the editor.
func (u *UI) listing(c echo.Context) error {
	ctx := c.Request().Context()
	l, err := u.deps.Store.FindListing(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	shop, err := u.deps.Store.FindShop(ctx, tenantOf(c), l.ShopID)
	if err != nil {
		return err
	}
	vs, svs := l.Compliance.Violations, l.Compliance.SourceViolations
	// Source violations are located in the supplier's text as sent; an
	// HTML description is shown as plain text, where those offsets do not
	// apply, so its terms are only listed.
	srcDesc := htmltext.PlainText(l.Source.Description)
	var srcDescVs []listinggen.Violation
	if srcDesc == l.Source.Description {
		srcDescVs = fieldViolations(svs, "source.description")
	}
	data := listingPage{L: l, Shop: shop, Rules: u.deps.Rules(shop),
		Title:       compare(l.Source.Title, l.Copy.Title, fieldViolations(svs, "source.title"), fieldViolations(vs, "title")),
		Description: compare(srcDesc, l.Copy.Description, srcDescVs, fieldViolations(vs, "description")),
	}
	for i, sp := range l.Copy.SellingPoints {
		data.SellingPoints = append(data.SellingPoints, markedText(sp, nil, "", fieldViolations(vs, fmt.Sprintf("selling_points[%d]", i))))
	}
	for _, v := range vs {
		data.Violations = append(data.Violations, violationRow{Violation: v, Note: violationNote(v)})
	}
	for _, v := range l.Compliance.SourceViolations {
		data.SourceViolations = append(data.SourceViolations, violationRow{Violation: v, Note: violationNote(v)})
	}
	if data.ShopNames, err = u.shopNames(c, shop, l.Dedup.Matches); err != nil {
		return err
	}
	js := map[string]any{"id": l.ID, "version": l.Version, "shop_id": l.ShopID, "platform": l.Platform,
		"title_max": data.Rules.TitleMaxUnits, "copy": l.Copy, "status": l.Status}
	return u.render(c, http.StatusOK, "listing", data, js)
}

// otherReasons are a match's reasons that its evidence does not list
// already, such as a model's second opinion.
func otherReasons(m listinggen.DedupMatch) []string {
	var out []string
	for _, r := range m.Reasons {
		if !slices.ContainsFunc(m.Evidence, func(e listinggen.DedupEvidence) bool { return e.Reason == r }) {
			out = append(out, r)
		}
	}
	return out
}

// shopNames names the shops of a listing's matches (a shop deleted since
// goes by its id).
func (u *UI) shopNames(c echo.Context, own *listinggen.Shop, matches []listinggen.DedupMatch) (map[string]string, error) {
	names := map[string]string{own.ID: own.Name}
	for _, m := range matches {
		if _, ok := names[m.ShopID]; ok {
			continue
		}
		s, err := u.deps.Store.FindShop(c.Request().Context(), tenantOf(c), m.ShopID)
		switch {
		case listinggen.ErrorCode(err) == listinggen.ENOTFOUND:
			names[m.ShopID] = m.ShopID
		case err != nil:
			return nil, err
		default:
			names[m.ShopID] = s.Name
		}
	}
	return names, nil
}

type importPage struct {
	Shops      []*listinggen.Shop
	Platforms  []listinggen.Platform
	SampleSize int
}

// importPage creates shops and sends products to /v1/generate (from the
// page's script), so that a catalogue gets in without curl.
func (u *UI) importPage(c echo.Context) error {
	shops, err := u.allShops(c)
	if err != nil {
		return err
	}
	return u.render(c, http.StatusOK, "import", importPage{Shops: shops, Platforms: listinggen.Platforms, SampleSize: sampleSize}, nil)
}

// sample serves the demo catalogue to the import page: products whose
// photos are embedded in the binary, so that the first run shows every
// step working without a network.
func (u *UI) sample(c echo.Context) error {
	securityHeaders(c.Response().Header())
	return c.Blob(http.StatusOK, "application/x-ndjson; charset=utf-8", listinggen.DemoCatalogue)
}

// sampleSize is the number of products in the demo catalogue.
var sampleSize = bytes.Count(listinggen.DemoCatalogue, []byte("\n"))
