package verify

import (
	"math"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/jsonnum"
)

// The JSON forms of the model bounds and of certificates, shared by the
// lrrn-verify command and the HTTP service. Numbers that are not finite
// (a state error that could not be bounded, a pairwise radius that does
// not apply) are null. An unbounded radius (+Inf: ρ = 0, the prediction is
// the same everywhere) is null too, with radius_unbounded (or
// pair_radius_unbounded) true, so that it cannot be mistaken for "none".

// LayerInfo is the JSON form of a LayerBound.
type LayerInfo struct {
	Rows             int      `json:"rows"`
	Cols             int      `json:"cols"`
	Beta             float64  `json:"beta"`
	SigmaMaxUpper    *float64 `json:"sigma_max_upper"`
	SigmaMinLower    *float64 `json:"sigma_min_lower"`
	SigmaMaxEstimate *float64 `json:"sigma_max_power_iteration_not_sound"`
	Ell              *float64 `json:"ell"`
	EllEstimate      *float64 `json:"ell_power_iteration_not_sound"`
}

// ModelInfo describes a model and the certifier's per-model bounds.
type ModelInfo struct {
	Sizes        []int       `json:"sizes"`
	Activations  []string    `json:"activations"`
	Beta         []float64   `json:"beta"`
	Gamma        float64     `json:"gamma"`
	Passes       int         `json:"passes"`
	Adaptive     bool        `json:"adaptive"`
	MaxPasses    int         `json:"max_passes,omitempty"`
	Sweeps       int         `json:"sweeps"`
	Residual     string      `json:"residual"` // "float64" (refine.go) or "float32" (NoRefine, or operators too large)
	Dataset      string      `json:"dataset"`
	Epochs       int         `json:"epochs"`
	TestAccuracy *float64    `json:"training_test_accuracy"` // recorded in the model file by training
	Rho          *float64    `json:"rho"`
	RhoPre       *float64    `json:"rho_pre"`
	RhoEstimate  *float64    `json:"rho_power_iteration_not_sound"`
	Mu           *float64    `json:"mu"`
	Reduced      bool        `json:"reduced_output"`
	Layers       []LayerInfo `json:"layers"`
	SIMD         string      `json:"simd"`
}

// Info returns the certifier's model description and bounds.
func (c *Certifier) Info() ModelInfo {
	m := c.m
	b := c.bounds
	in := ModelInfo{
		Sizes: append([]int(nil), m.Sizes...), Beta: append([]float64(nil), m.Beta...),
		Gamma: m.Gamma, Passes: c.opts.Passes, Adaptive: c.opts.Adaptive, Sweeps: c.opts.Sweeps,
		Dataset: m.Meta.Dataset, Epochs: m.Meta.Epochs, TestAccuracy: jsonnum.Finite(m.Meta.TestAccuracy),
		Rho: jsonnum.Finite(b.Rho), RhoPre: jsonnum.Finite(b.RhoPre), RhoEstimate: jsonnum.Finite(b.RhoEstimate), Mu: jsonnum.Finite(b.MuBest),
		Reduced: b.Reduced, SIMD: string(asm.CurrentTier()), Residual: "float32",
	}
	if c.opts.Adaptive {
		in.MaxPasses = c.opts.MaxPasses
	}
	if c.ref != nil {
		in.Residual = "float64"
	}
	for _, a := range m.Acts {
		in.Activations = append(in.Activations, a.String())
	}
	for _, l := range b.Layers {
		in.Layers = append(in.Layers, LayerInfo{
			Rows: l.Rows, Cols: l.Cols, Beta: l.Beta,
			SigmaMaxUpper: jsonnum.Finite(l.MaxUpper), SigmaMinLower: jsonnum.Finite(l.MinLower), SigmaMaxEstimate: jsonnum.Finite(l.MaxEstimate),
			Ell: jsonnum.Finite(l.Ell), EllEstimate: jsonnum.Finite(l.EllEstimate),
		})
	}
	return in
}

// Record is the JSON form of one certificate.
type Record struct {
	Index       int      `json:"index"`
	Label       *int     `json:"label"` // null when none was given
	Prediction  int      `json:"prediction"`
	Margin      *float64 `json:"margin"`
	MarginLower *float64 `json:"margin_lower"`
	Radius      *float64 `json:"radius"`
	PairRadius  *float64 `json:"pair_radius"`
	// RadiusUnbounded and PairRadiusUnbounded mark a radius of +Inf
	// (encoded null): the prediction holds everywhere.
	RadiusUnbounded     bool     `json:"radius_unbounded,omitempty"`
	PairRadiusUnbounded bool     `json:"pair_radius_unbounded,omitempty"`
	Certified           bool     `json:"certified"`
	StateError          *float64 `json:"state_error"`
	Residual            *float64 `json:"residual"`
	Passes              int      `json:"passes"`
}

// NewRecord returns the JSON form of certificate c of input index.
func NewRecord(index int, c Certificate) Record {
	r := Record{Index: index, Prediction: c.Pred, Margin: jsonnum.Finite(c.Margin), MarginLower: jsonnum.Finite(c.MarginLower),
		Radius: jsonnum.Finite(c.Radius), PairRadius: jsonnum.Finite(c.PairRadius), Certified: c.Certified,
		StateError: jsonnum.Finite(c.StateError), Residual: jsonnum.Finite(c.Residual), Passes: c.Passes,
		RadiusUnbounded: math.IsInf(c.Radius, 1), PairRadiusUnbounded: math.IsInf(c.PairRadius, 1)}
	if c.LabelGiven {
		l := c.Label
		r.Label = &l
	}
	return r
}
