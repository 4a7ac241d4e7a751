package api

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// A client that went away is not a server error; a missed deadline is 503.
func TestContextErrorsAreNotInternal(t *testing.T) {
	t.Parallel()
	if p := problemFor(fmt.Errorf("find: %w", context.Canceled)); p.Status != 499 {
		t.Errorf("canceled: %+v", p)
	}
	if p := problemFor(fmt.Errorf("find: %w", context.DeadlineExceeded)); p.Status != 503 {
		t.Errorf("deadline: %+v", p)
	}
	if p := problemFor(errors.New("boom")); p.Status != 500 || p.Detail != "internal error" {
		t.Errorf("other: %+v", p)
	}
}
