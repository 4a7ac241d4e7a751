package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// statusByCode maps application error codes to HTTP statuses: the only
// place this mapping exists.
var statusByCode = map[string]int{
	listinggen.EINVALID:      http.StatusUnprocessableEntity,
	listinggen.ENOTFOUND:     http.StatusNotFound,
	listinggen.ECONFLICT:     http.StatusConflict,
	listinggen.EUNAUTHORIZED: http.StatusUnauthorized,
	listinggen.EFORBIDDEN:    http.StatusForbidden,
	listinggen.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	listinggen.ERATELIMIT:    http.StatusTooManyRequests,
	listinggen.EUNAVAILABLE:  http.StatusServiceUnavailable,
	listinggen.EINTERNAL:     http.StatusInternalServerError,
}

// statusClientClosed is what the log and metrics record for a request whose
// client disconnected before the answer.
const statusClientClosed = 499

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type      string                  `json:"type"`
	Title     string                  `json:"title"`
	Status    int                     `json:"status"`
	Detail    string                  `json:"detail,omitempty"`
	Instance  string                  `json:"instance,omitempty"`
	RequestID string                  `json:"request_id,omitempty"`
	Errors    []listinggen.FieldError `json:"errors,omitempty"`
}

// problemType mints a tag URI (RFC 4151) per kind of problem: a stable
// identifier clients can switch on, which does not pretend to be a web page.
func problemType(kind string) string { return "tag:listinggen,2026:problem:" + kind }

// badRequest is for requests that are not even well-formed (malformed JSON).
func badRequest(detail string) error {
	return &echo.HTTPError{Code: http.StatusBadRequest, Message: detail}
}

// problemFor turns any error into a problem. Internal details never reach
// the client; they are logged with the request id.
func problemFor(err error) Problem {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		detail, _ := he.Message.(string)
		if detail == "" {
			detail = http.StatusText(he.Code)
		}
		kind := map[int]string{
			http.StatusBadRequest: "malformed", http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed",
			http.StatusRequestEntityTooLarge: listinggen.ETOOLARGE, http.StatusUnsupportedMediaType: "unsupported_media_type",
			http.StatusServiceUnavailable: listinggen.EUNAVAILABLE,
		}[he.Code]
		if kind == "" {
			kind = "http"
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			detail = "request body is too large"
		}
		return Problem{Type: problemType(kind), Title: http.StatusText(he.Code), Status: he.Code, Detail: detail}
	}
	var le *listinggen.Error
	if !errors.As(err, &le) {
		switch {
		case errors.Is(err, context.Canceled):
			// The client went away (nginx's 499): not the server's fault,
			// and nobody reads the answer.
			return Problem{Type: problemType("client_closed_request"), Title: "Client Closed Request", Status: statusClientClosed,
				Detail: "the client closed the request"}
		case errors.Is(err, context.DeadlineExceeded):
			return Problem{Type: problemType(listinggen.EUNAVAILABLE), Title: http.StatusText(http.StatusServiceUnavailable),
				Status: http.StatusServiceUnavailable, Detail: "the request did not finish within its deadline; retry later"}
		}
	}
	code := listinggen.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return Problem{
		Type:   problemType(code),
		Title:  http.StatusText(status),
		Status: status,
		Detail: listinggen.ErrorMessage(err),
		Errors: listinggen.ErrorFields(err),
	}
}

// errorHandler writes every error as application/problem+json.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemFor(err)
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			logger.ErrorContext(c.Request().Context(), "request failed", "err", err, "request_id", p.RequestID,
				"method", c.Request().Method, "path", c.Request().URL.Path)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(p.Status)
			return
		}
		// c.JSON keeps a content type that is already set.
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		_ = c.JSON(p.Status, p)
	}
}
