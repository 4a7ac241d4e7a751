package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/listinggen/listinggen"
)

// A tenant's and a shop's own words reach the check endpoint and the
// pipeline alike: the same verdicts from both.
func TestShopAndTenantWordsApplyEverywhere(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	var shop struct {
		ID               string   `json:"id"`
		AuthorizedBrands []string `json:"authorized_brands"`
		Rules            struct {
			TitleMaxUnits int `json:"title_max_units"`
		} `json:"rules"`
	}
	resp := s.do("POST", "/v1/shops", map[string]any{"name": "华为授权店", "platform": "douyin",
		"authorized_brands": []string{"华为"}, "rules": map[string]int{"title_max_units": 40}}, &shop)
	if resp.StatusCode != http.StatusCreated || !slices.Equal(shop.AuthorizedBrands, []string{"华为"}) || shop.Rules.TitleMaxUnits != 40 {
		t.Fatalf("create: %d %+v", resp.StatusCode, shop)
	}
	var words map[string]any
	if resp := s.do("PUT", "/v1/compliance/words", map[string]any{"banned_words": []map[string]string{{"term": "秒杀", "suggestion": "限时"}}}, &words); resp.StatusCode != 200 {
		t.Fatalf("put words: %d %v", resp.StatusCode, words)
	}
	s.do("GET", "/v1/compliance/words", nil, &words)
	if b, _ := words["banned_words"].([]any); len(b) != 1 {
		t.Fatalf("words = %v", words)
	}

	var r struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"shop_id": shop.ID, "title": "华为 蓝牙耳机 秒杀"}, &r)
	if r.OK || len(r.Violations) != 1 || r.Violations[0].Term != "秒杀" || r.Violations[0].Category != "custom" {
		t.Errorf("shop check = %+v", r)
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"platform": "douyin", "title": "华为 蓝牙耳机 秒杀"}, &r)
	if len(r.Violations) != 2 {
		t.Errorf("without the shop, 华为 must be flagged too: %+v", r)
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"shop_id": shop.ID, "title": strings.Repeat("耳", 21)}, &r)
	if r.OK {
		t.Error("the shop's 40-unit override was not applied")
	}

	var out generateJSON
	body := []byte(`{"product":{"id":"p1","title":"华为蓝牙耳机 秒杀 入耳式 降噪 超长续航 游戏 运动 无线","category":"数码/蓝牙耳机"},"shop_ids":["` + shop.ID + `"]}`)
	s.do("POST", "/v1/generate", body, &out)
	l := out.Listings[0]
	if listinggen.TitleUnits(l.Copy.Title) > 40 || strings.Contains(l.Copy.Title, "秒杀") || !strings.Contains(l.Copy.Title, "蓝牙耳机") {
		t.Errorf("generated title %q under the shop's rules", l.Copy.Title)
	}

	var patched struct {
		Name         string   `json:"name"`
		Platform     string   `json:"platform"`
		AllowedWords []string `json:"allowed_words"`
	}
	if resp := s.do("PATCH", "/v1/shops/"+shop.ID, map[string]any{"name": "新名", "allowed_words": []string{"秒杀"}}, &patched); resp.StatusCode != 200 ||
		patched.Name != "新名" || patched.Platform != "douyin" || len(patched.AllowedWords) != 1 {
		t.Fatalf("patch: %d %+v", resp.StatusCode, patched)
	}
	s.do("POST", "/v1/compliance/check", map[string]string{"shop_id": shop.ID, "title": "蓝牙耳机 秒杀"}, &r)
	if !r.OK {
		t.Errorf("the shop's allowed word did not win over the tenant's ban: %+v", r)
	}
	var p problem
	if resp := s.do("PATCH", "/v1/shops/"+shop.ID, map[string]string{"platform": "taobao"}, &p); resp.StatusCode != 422 || !slices.Contains(p.fields(), "platform") {
		t.Errorf("platform change: %d %+v", resp.StatusCode, p)
	}
	if resp := s.do("PATCH", "/v1/shops/"+shop.ID, map[string]any{"rules": map[string]int{"title_max_units": 5}}, &p); resp.StatusCode != 422 || !slices.Contains(p.fields(), "rules.title_max_units") {
		t.Errorf("bad override: %d %+v", resp.StatusCode, p)
	}
	if resp := s.do("DELETE", "/v1/shops/"+shop.ID, nil, &p); resp.StatusCode != http.StatusConflict {
		t.Errorf("delete a shop with listings: %d", resp.StatusCode)
	}
	empty := createShop(t, s, "空店", "generic")
	if resp := s.do("DELETE", "/v1/shops/"+empty.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp := s.do("GET", "/v1/shops/"+empty.ID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted shop: %d", resp.StatusCode)
	}
}

// A shop's declared licences reach the check endpoint: a claim that needs
// one passes for the shop that holds it and the product category it
// covers, and blocks elsewhere; an unknown licence is refused.
func TestShopLicencesAllowClaims(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), nil)
	var shop struct {
		ID       string   `json:"id"`
		Licences []string `json:"licences"`
	}
	resp := s.do("POST", "/v1/shops", map[string]any{"name": "美妆店", "platform": "douyin", "licences": []string{"cosmetics_special"}}, &shop)
	if resp.StatusCode != http.StatusCreated || !slices.Equal(shop.Licences, []string{"cosmetics_special"}) {
		t.Fatalf("create: %d %+v", resp.StatusCode, shop)
	}
	var r struct {
		OK         bool                   `json:"ok"`
		Violations []listinggen.Violation `json:"violations"`
	}
	check := func(body map[string]string) {
		t.Helper()
		r.OK, r.Violations = false, nil
		if resp := s.do("POST", "/v1/compliance/check", body, &r); resp.StatusCode != 200 {
			t.Fatalf("check %v: %d", body, resp.StatusCode)
		}
	}
	check(map[string]string{"shop_id": shop.ID, "category": "美妆/精华", "title": "美白淡斑 精华液"})
	if !r.OK || len(r.Violations) != 0 {
		t.Errorf("licensed claim: %+v", r)
	}
	check(map[string]string{"platform": "douyin", "category": "美妆/精华", "title": "美白淡斑 精华液"})
	if r.OK || len(r.Violations) != 1 || r.Violations[0].Category != "cosmetic_claim" || !strings.Contains(r.Violations[0].Rule, "特殊化妆品注册证") ||
		r.Violations[0].Source == "" {
		t.Errorf("without the shop's licence: %+v", r)
	}
	check(map[string]string{"shop_id": shop.ID, "category": "女装/T恤", "title": "美白 T恤"})
	if r.OK {
		t.Errorf("a cosmetics licence allowed a claim on apparel: %+v", r)
	}
	check(map[string]string{"shop_id": shop.ID, "title": "極品 全網最低價 加V:abc12345"})
	if got := terms(r.Violations); r.OK || !slices.Equal(got, []string{"極品", "全網最低價", "加V"}) {
		t.Errorf("traditional script and contact: %v", got)
	}
	var p problem
	if resp := s.do("PATCH", "/v1/shops/"+shop.ID, map[string]any{"licences": []string{"health_food", "no_such_licence"}}, &p); resp.StatusCode != 422 ||
		!slices.Equal(p.fields(), []string{"licences[1]"}) {
		t.Errorf("unknown licence: %d %+v", resp.StatusCode, p)
	}
	if resp := s.do("PATCH", "/v1/shops/"+shop.ID, map[string]any{"licences": []string{"health_food"}}, &shop); resp.StatusCode != 200 ||
		!slices.Equal(shop.Licences, []string{"health_food"}) {
		t.Errorf("patch licences: %d %+v", resp.StatusCode, shop)
	}
	check(map[string]string{"shop_id": shop.ID, "category": "食品/茶叶", "title": "降血压 苦瓜茶"})
	if !r.OK {
		t.Errorf("health food licence: %+v", r)
	}
}

func terms(vs []listinggen.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Term)
	}
	return out
}
