// Package jsonnum holds the JSON encoding of numbers that may not be
// finite, shared by package verify's report types and the lrrn-verify
// summary.
package jsonnum

import "math"

// Finite returns &x for a finite x and nil (JSON null) otherwise.
func Finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
