package rules

import (
	"strings"
	"testing"
)

func TestGluedMeasuresAreSplit(t *testing.T) {
	lx, err := parseLexicon(lexiconData)
	if err != nil {
		t.Fatal(err)
	}
	for title, want := range map[string]string{
		"120W2米6A数据线": "120W|2米|6A|数据线",
		"1.5m3A数据线":   "1.5m|3A|数据线",
		"DSC-W120P相机": "DSC-W120P|相机",
		"RTX4090显卡":   "RTX4090|显卡",
		"500ml保温杯":    "500ml|保温杯",
	} {
		var got []string
		for _, tk := range segment(title, lx) {
			got = append(got, tk.text)
		}
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("segment(%q) = %s, want %s", title, g, want)
		}
	}
}
