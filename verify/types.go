package verify

import "errors"

// Options configure a Certifier. The zero value is usable.
type Options struct {
	// Passes is the number of BCD passes per input. 0 (the default) runs
	// passes as needed: StartPasses first, then more only for the inputs
	// whose certificate is still limited by the inference error (as with
	// Adaptive). A positive Passes without Adaptive runs exactly that many.
	Passes int
	// Workers is the number of goroutines a batch is spread over; 0 uses
	// runtime.GOMAXPROCS(0). At most MaxWorkers.
	Workers int
	// Adaptive keeps running passes on inputs whose certificate is still
	// limited by the inference error (doubling their total in the first
	// extra round, then as many as the last round's rate predicts),
	// until it costs at most AdaptiveTol of the margin, the residual
	// reaches the rounding floor, or MaxPasses passes ran. The inputs that
	// continue are gathered across tiles into full tiles. Passes = 0 sets
	// it (starting from StartPasses).
	Adaptive bool
	// MaxPasses caps the passes per input in adaptive mode; 0 means 2000.
	MaxPasses int
	// AdaptiveTol is the fraction of |margin| below which the inference
	// error no longer counts as limiting; 0 means DefaultAdaptiveTol.
	AdaptiveTol float64
	// Sweeps is the number of Gauss–Seidel sweeps over each block's units
	// per BCD pass (lrrn.Solver.SetSweeps). 0 (the default) chooses for
	// the model: with passes as needed (Adaptive) the count of 1 … 4 that
	// the model's pass rates predict reaches the certificates with the
	// least work (lrrn.Solver.AutoSweeps: 1 for the paper's model, 4 for
	// the certified-robust model of testdata, whose large weights make a
	// block converge slowly within a pass; docs/verify-scaling.md), with a
	// fixed number of passes 1, the reference iteration. Options returns
	// the count chosen. The certificates bound the error of whatever
	// iterate the passes reach, so Sweeps changes the work, never the
	// soundness.
	Sweeps int
	// NoRefine computes every certificate's residual from the float32
	// products of the passes, whose rounding bound is often most of the
	// state error on models with large weights. By default each block's
	// residual is computed in float64 instead (refine.go; docs/math.md,
	// "The residual in float64"): one float64 product of the model's
	// block operators with the tile's states per evaluation, 1.4 – 2.4×
	// the time of the float32 residual (docs/verify-scaling.md), for
	// certificates that lose only the iterate's own residual. Models
	// whose float64 operators would exceed 256 MiB keep the float32
	// residual (Info().Residual says which is used).
	NoRefine bool
}

// MaxWorkers bounds Options.Workers: each worker holds a scratch of a few
// tiles, and more goroutines than this gain nothing on any machine.
const MaxWorkers = 1024

// StartPasses is the number of passes every input gets first when passes
// run as needed (Options.Passes = 0).
const StartPasses = 5

// DefaultAdaptiveTol is the default Options.AdaptiveTol: an input stops
// once the inference error costs at most this fraction of its margin, so
// that its radius is within about this fraction of the converged one.
const DefaultAdaptiveTol = 1e-3

// Certificate is the result for one input. Radii are ℓ2 distances in the
// units of the input (pixels scaled to [0,1]).
type Certificate struct {
	// Label is the class the certificate is about: the given label, or the
	// prediction when no label was given (then LabelGiven is false).
	Label      int
	LabelGiven bool
	// Pred is the iterate's prediction, argmax of its output.
	Pred int
	// Margin is the iterate's margin z̃_L[Label] − max_{j≠Label} z̃_L[j],
	// evaluated in float64 (negative when Pred ≠ Label).
	Margin float64
	// MarginLower is a certified lower bound on the exact model's margin at
	// this input: Margin minus the inference error and rounding bounds.
	MarginLower float64
	// Radius is the certified radius δ = MarginLower/(√2ρ) of the exact
	// model, 0 when not certified: every x' with ‖x' − x‖₂ < Radius is
	// classified as Label.
	Radius float64
	// PairRadius is the certified pairwise radius δ_pair (linear output
	// with β_{L−1} = 0 only; NaN otherwise), 0 when not certified. It is
	// also sound, and at least Radius.
	PairRadius float64
	// Certified reports MarginLower > 0: the exact model's prediction at x
	// is Label.
	Certified bool
	// StateError is a certified bound on ‖z̃ − ž‖ for the layer that
	// determines the output (z_{L−1} in the reduced form, z_L otherwise);
	// +Inf when no bound could be proved.
	StateError float64
	// Residual is ‖g‖_{D⁻¹}, the float64 norm of the min-norm subgradient
	// at the iterate in the block scaling used for StateError.
	Residual float64
	// Passes is the number of BCD passes the iterate received.
	Passes int
}

// ErrInput is matched (errors.Is) by every error about the caller's
// inputs: sizes, labels, non-finite values.
var ErrInput = errors.New("invalid input")

// LayerBound describes one weight layer's contribution to ρ.
type LayerBound struct {
	Rows, Cols int     // W_k is Rows×Cols (d_{k+1}×d_k)
	Beta       float64 // β_k
	SingularBounds
	// Ell is a certified upper bound of ℓ(β_k, W_k).
	Ell float64
	// EllEstimate is the paper's estimate (its formula at the Lanczos
	// estimate of σ_max only). NOT SOUND.
	EllEstimate float64
}

// Bounds are the per-model quantities of the certificates.
type Bounds struct {
	Layers []LayerBound
	// Rho is a certified upper bound of the Lipschitz constant of the exact
	// model's output x ↦ ž_L(x): Π_k Ell.
	Rho float64
	// RhoPre is Π_{k<L−1} Ell, a certified Lipschitz bound of x ↦ ž_{L−1}
	// used by the pairwise radius.
	RhoPre float64
	// RhoEstimate = Π_k EllEstimate, the paper's estimate. NOT SOUND: the
	// Lanczos estimate approaches σ_max from below, and the formula at
	// σ_max misses the peak (1+β)/(2√β) when σ_min < 1/√β < σ_max.
	RhoEstimate float64
	// Reduced reports a linear output with β_{L−1} = 0: the output is
	// eliminated from the free problem and PairRadius is available.
	Reduced bool
	// Blocks is K, the number of variable layers of the free problem.
	Blocks int
	// Mu is the certified smallest eigenvalue of the block-scaled Hessian
	// with D_k = γ^{k−1} (τ = 1); MuBest the one of the scaling that gives
	// the smallest error factor. 0 means none could be proved (then every
	// certificate abstains).
	Mu, MuBest float64
}
