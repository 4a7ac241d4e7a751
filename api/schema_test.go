package api_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/listinggen/listinggen"
)

// TestJobSchemasNameEveryField fails when the job types marshal a field
// that openapi.yaml does not describe, so that a field added to the API
// (a job's recovered items, say) is added to the contract too.
func TestJobSchemasNameEveryField(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(listinggen.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"Job": listinggen.Job{}, "JobItem": listinggen.JobItem{}, "JobRecovery": listinggen.JobRecovery{}} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("openapi.yaml has no schema %s", name)
			continue
		}
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			field, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			// listing is filled in results exports (JSONL), not in the
			// items the API lists.
			if field == "" || field == "-" || name == "JobItem" && field == "listing" {
				continue
			}
			if _, ok := ref.Value.Properties[field]; !ok {
				t.Errorf("schema %s lacks %q (%s.%s)", name, field, typ.Name(), typ.Field(i).Name)
			}
		}
	}
}
