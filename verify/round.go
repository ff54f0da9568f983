package verify

import "math"

// Rounding constants and directed rounding helpers used by the certified
// bounds. All floating-point arithmetic here follows the standard model
// (IEEE 754, round to nearest): fl(a∘b) = (a∘b)(1+δ), |δ| ≤ u, barring
// underflow, which the bounds cover with explicit absolute terms.
const (
	u64 = 0x1p-53 // unit roundoff of float64
	u32 = 0x1p-24 // unit roundoff of float32

	// tiny32 bounds the absolute error one float32 multiplication can
	// make through underflow, whether or not the hardware flushes
	// subnormals to zero (FTZ/DAZ): 2^-126 is the smallest normal float32.
	tiny32 = 0x1p-126
	// tiny64 is the same for float64 (Rump's η is 2^-1074; we use the
	// smallest normal number so that flush-to-zero is covered too).
	tiny64 = 0x1p-1022

	// safety multiplies every bound constant computed per model. Those
	// constants are themselves computed in float64 with relative errors
	// below 1e-12, far inside this factor.
	safety = 1.01
)

// gamma returns γ_n = n·u/(1−n·u) (Higham's notation), the relative error
// bound of an n-term dot product or sum computed in any order, with or
// without fused multiply-adds, rounded up. It panics when n·u ≥ 1/2, where
// the bound would be meaningless.
func gamma(n int, u float64) float64 {
	nu := float64(n) * u
	if nu >= 0.5 {
		panic("verify: rounding bound requested for too long a sum")
	}
	return up(up(nu) / down(1-nu))
}

// up returns a float64 that is ≥ the exact value that x approximates when x
// is the round-to-nearest result of one operation: the next float above x.
func up(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }

// down is up's counterpart towards −∞.
func down(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }

// addUp, mulUp, divUp and sqrtUp return upper bounds of the exact results;
// the Down variants lower bounds.
func addUp(a, b float64) float64   { return up(a + b) }
func addDown(a, b float64) float64 { return down(a + b) }
func subDown(a, b float64) float64 { return down(a - b) }
func mulUp(a, b float64) float64   { return up(a * b) }
func mulDown(a, b float64) float64 { return down(a * b) }
func divUp(a, b float64) float64   { return up(a / b) }
func divDown(a, b float64) float64 { return down(a / b) }
func sqrtUp(a float64) float64     { return up(math.Sqrt(a)) }
func sqrtDown(a float64) float64 {
	if a <= 0 {
		return 0
	}
	return down(math.Sqrt(a))
}

// relUp is the factor by which per-input quantities computed with at most a
// few hundred float64 operations are inflated to make them upper bounds:
// (1+u)^k ≤ 1+1e-12 for k ≤ 4000.
const relUp = 1 + 1e-12
