package openai

import (
	"errors"
	"fmt"
	"time"

	"github.com/listinggen/listinggen"
)

// Every failure the Rewriter returns is a *listinggen.Error (code
// EUNAVAILABLE, or ERATELIMIT for exhausted 429s) whose chain holds exactly
// one of these sentinels, so that callers can tell them apart with
// errors.Is, and Fallback says whether the rules rewriter should take over.
var (
	// ErrLength: the model stopped at the token limit (finish_reason
	// "length"); the output is incomplete.
	ErrLength = errors.New("output cut off at the token limit (finish_reason length)")
	// ErrContentFilter: the provider withheld the output (finish_reason
	// "content_filter").
	ErrContentFilter = errors.New("output withheld by the provider's content filter (finish_reason content_filter)")
	// ErrRefusal: the model refused (message.refusal); see RefusalError.
	ErrRefusal = errors.New("the model refused")
	// ErrParse: the output is not the copy JSON; see ParseError.
	ErrParse = errors.New("output is not the copy JSON")
	// ErrCircuitOpen: the provider failed repeatedly and calls are not
	// being sent until the cool-down has passed.
	ErrCircuitOpen = errors.New("circuit breaker open: the provider is failing")
	// ErrRateLimited: the provider still answered 429 after the retries, or
	// asked to wait longer than MaxRetryAfter.
	ErrRateLimited = errors.New("rate limited by the provider")
	// ErrUnavailable: 5xx, timeouts or transport errors after the retries.
	ErrUnavailable = errors.New("provider unavailable")
	// ErrRejected: the provider refused the request (400, 401, 403, 404 …);
	// a configuration problem, not retried.
	ErrRejected = errors.New("provider rejected the request")
)

var failures = []error{ErrLength, ErrContentFilter, ErrRefusal, ErrParse, ErrCircuitOpen, ErrRateLimited, ErrUnavailable, ErrRejected}

// Fallback reports whether err is a model or provider failure after which
// the pipeline should write the copy with the rules rewriter instead (and
// mark the listing needs_review). It is false for nil, for a cancelled
// caller and for invalid input.
func Fallback(err error) bool {
	for _, f := range failures {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// RefusalError carries the model's refusal message.
type RefusalError struct{ Refusal string }

func (e *RefusalError) Error() string        { return "the model refused: " + e.Refusal }
func (e *RefusalError) Is(target error) bool { return target == ErrRefusal }

// ParseError carries the output that could not be parsed (for logs; it
// may contain anything the model wrote).
type ParseError struct {
	Content string
	Err     error
}

func (e *ParseError) Error() string        { return "output is not the copy JSON: " + e.Err.Error() }
func (e *ParseError) Unwrap() error        { return e.Err }
func (e *ParseError) Is(target error) bool { return target == ErrParse }

// StatusError is a provider HTTP failure after the retries.
type StatusError struct {
	// StatusCode is 0 for timeouts and transport errors.
	StatusCode int
	// RetryAfter is what the provider last asked for, if anything.
	RetryAfter time.Duration
	Attempts   int
	Err        error
}

func (e *StatusError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("after %d attempts: %v", e.Attempts, e.Err)
	}
	return fmt.Sprintf("status %d after %d attempts: %v", e.StatusCode, e.Attempts, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.StatusCode == 429
	case ErrUnavailable:
		return e.StatusCode == 0 || e.StatusCode == 408 || e.StatusCode == 409 || e.StatusCode >= 500
	case ErrRejected:
		return e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != 408 && e.StatusCode != 409 && e.StatusCode != 429
	}
	return false
}

// modelFailure wraps an output failure for callers: the message is safe
// for clients, the cause is for logs.
func modelFailure(cause error) error {
	return listinggen.WrapError(listinggen.EUNAVAILABLE, cause, "the language model did not produce usable copy")
}

func providerFailure(e *StatusError) error {
	if e.StatusCode == 429 {
		return listinggen.WrapError(listinggen.ERATELIMIT, e, "the language model provider is rate limiting requests")
	}
	return listinggen.WrapError(listinggen.EUNAVAILABLE, e, "the language model provider is unavailable")
}

func circuitOpen() error {
	return listinggen.WrapError(listinggen.EUNAVAILABLE, ErrCircuitOpen, "the language model provider is unavailable")
}
