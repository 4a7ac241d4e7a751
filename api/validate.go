package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// Spec is the parsed OpenAPI document and a router over it.
type Spec struct {
	Raw    []byte
	Doc    *openapi3.T
	router routers.Router
}

// LoadSpec parses and validates the OpenAPI document.
func LoadSpec(raw []byte) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	// Route by path only: the server address in the document is "/".
	doc.Servers = nil
	r, err := legacyrouter.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return &Spec{Raw: raw, Doc: doc, router: r}, nil
}

// Paths returns "METHOD /path/{param}" for every operation in the document.
func (s *Spec) Paths() []string {
	var out []string
	for path, item := range s.Doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// validateRequests checks every request against the OpenAPI document before
// a handler sees it: the body must be well-formed JSON (400 otherwise) and
// match the schema, and parameters must match theirs (422 naming each field).
// Requests for paths the document does not describe fall through to the
// router, which answers 404 or 405.
func validateRequests(spec *Spec, limit func(*http.Request) int64, streamed func(*http.Request) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			route, params, err := spec.router.FindRoute(req)
			if err != nil {
				return next(c)
			}
			stream := streamed(req)
			if req.Body != nil && req.Body != http.NoBody && !stream {
				bodyLimit := limit(req)
				body, err := io.ReadAll(io.LimitReader(req.Body, bodyLimit+1))
				if err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
					}
					return badRequest("could not read the request body")
				}
				if int64(len(body)) > bodyLimit {
					return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
				}
				if len(bytes.TrimSpace(body)) > 0 && isJSON(req.Header.Get(echo.HeaderContentType)) {
					if err := checkJSONSyntax(body); err != nil {
						return err
					}
				}
				req.Body = io.NopCloser(bytes.NewReader(body))
			}
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: stream},
			}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				return requestProblem(err)
			}
			return next(c)
		}
	}
}

func isJSON(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// checkJSONSyntax returns a 400 with the byte offset of the first error.
func checkJSONSyntax(body []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		return badRequest("malformed JSON: more than one value in the body")
	}
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input")
	}
	return badRequest("malformed JSON: " + err.Error())
}

// requestProblem turns kin-openapi's errors into field errors.
func requestProblem(err error) error {
	var fields []listinggen.FieldError
	collectFieldErrors(err, "", &fields)
	for _, f := range fields {
		if strings.Contains(f.Message, "Content-Type") || strings.Contains(f.Message, "content type") {
			return &echo.HTTPError{Code: http.StatusUnsupportedMediaType, Message: "send the body as application/json"}
		}
	}
	return listinggen.Invalid(fields)
}

// collectFieldErrors flattens kin-openapi's nested errors into one field
// error per problem, with dotted field paths (product.title, shop_ids.0).
func collectFieldErrors(err error, field string, out *[]listinggen.FieldError) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			collectFieldErrors(inner, field, out)
		}
	case *openapi3filter.RequestError:
		if e.Parameter != nil {
			field = e.Parameter.Name
		}
		if e.Err == nil {
			*out = append(*out, listinggen.FieldError{Field: field, Message: e.Reason})
			return
		}
		collectFieldErrors(e.Err, field, out)
	case *openapi3.SchemaError:
		path := strings.Join(e.JSONPointer(), ".")
		if field != "" && path != "" {
			path = field + "." + path
		} else if path == "" {
			path = field
		}
		msg := e.Reason
		if name, ok := quotedProperty(msg, " is unsupported"); ok {
			path, msg = joinPath(path, name), "is not a known field"
		} else if _, ok := quotedProperty(msg, " is missing"); ok {
			msg = "is required"
		}
		*out = append(*out, listinggen.FieldError{Field: path, Message: msg})
	default:
		if inner := errors.Unwrap(err); inner != nil {
			collectFieldErrors(inner, field, out)
			return
		}
		*out = append(*out, listinggen.FieldError{Field: field, Message: err.Error()})
	}
}

// quotedProperty extracts X from kin-openapi's `property "X"<suffix>`.
func quotedProperty(msg, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "property \"")
	if !ok || !strings.HasSuffix(rest, "\""+suffix) {
		return "", false
	}
	return strings.TrimSuffix(rest, "\""+suffix), true
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}
