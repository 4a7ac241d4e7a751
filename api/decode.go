package api

import (
	"encoding/json"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/listinggen/listinggen"
)

// decodeJSON decodes a body the validation middleware has already checked
// for syntax and schema; an error here is a type the schema allowed but Go
// cannot hold, reported as a field error.
func decodeJSON(c echo.Context, v any) error {
	if err := json.NewDecoder(c.Request().Body).Decode(v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return listinggen.Invalid([]listinggen.FieldError{{Field: te.Field, Message: "has the wrong type: want " + te.Type.String()}})
		}
		return listinggen.Invalid([]listinggen.FieldError{{Field: "body", Message: err.Error()}})
	}
	return nil
}

// queryInt reads an integer query parameter the schema has validated.
func queryInt(c echo.Context, name string) int {
	n, _ := strconv.Atoi(c.QueryParam(name))
	return n
}
