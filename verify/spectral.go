package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SingularBounds are bounds on the extreme singular values of one weight
// matrix W (rows×cols).
type SingularBounds struct {
	// MaxUpper is a certified upper bound: σ_max(W) ≤ MaxUpper.
	MaxUpper float64
	// MaxEstimate is the power-iteration estimate of σ_max(W). It is NOT a
	// certified bound in either direction (it approaches σ_max from below,
	// up to rounding); the paper's ρ is computed from estimates like it.
	MaxEstimate float64
	// MinLower is a certified lower bound on σ_min(W), the smallest singular
	// value of Wᵀ on R^rows (zero when rows > cols). It is 0 when no
	// positive bound was certified or none was needed (see Options).
	MinLower float64
}

// maxDense is the largest Gram matrix order that the bounds factorise
// densely; larger matrices fall back to cheaper, looser certified bounds.
const maxDense = 2048

// SingularValueBounds returns certified bounds on σ_max and σ_min of the
// rows×cols row-major float32 matrix w, and the power-iteration estimate of
// σ_max.
//
// Method: W is scaled by a power of two (exactly) so that its largest entry
// is in [½, 1); the Gram matrix G (WWᵀ or WᵀW, the smaller, order n) is
// formed in float64 — each product of two float32 values is exact in
// float64, the sums make an error |ΔG| ≤ γ_m|W||W|ᵀ (m the inner dimension),
// so ‖ΔG‖₂ ≤ γ_m‖W‖_F². Power iteration on G estimates λ_max; then a
// float64 Cholesky factorisation of T·I − G with a proven rounding margin
// (eigLowerChol) certifies λ_max(G) ≤ T', for T slightly above the
// estimate (raised until the proof succeeds). For σ_min, Cholesky of
// G − s·I certifies λ_min(WWᵀ) ≥ s', and bisection over s finds the best
// such s'. Square roots and the unscaling are rounded outwards.
func SingularValueBounds(w []float32, rows, cols int) (SingularBounds, error) {
	return singularBounds(w, rows, cols, -1)
}

// singularBounds computes the bounds. minAbove < 0 asks for the best
// σ_min bound; minAbove ≥ 0 says that only a bound above minAbove matters
// (ℓ(β, W) uses σ_min only when it exceeds 1/√β), so the bisection runs only
// when σ_min > minAbove is provable.
func singularBounds(w []float32, rows, cols int, minAbove float64) (SingularBounds, error) {
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return SingularBounds{}, fmt.Errorf("verify: matrix of %d values is not %d×%d", len(w), rows, cols)
	}
	var maxAbs float64
	for i, v := range w {
		a := math.Abs(float64(v))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return SingularBounds{}, fmt.Errorf("verify: matrix entry [%d,%d] = %v is not finite", i/cols, i%cols, v)
		}
		maxAbs = max(maxAbs, a)
	}
	if maxAbs == 0 {
		return SingularBounds{}, nil
	}
	_, e := math.Frexp(maxAbs) // maxAbs·2^-e in [½, 1)
	scale := math.Ldexp(1, -e)

	n, m := rows, cols
	wideRows := rows <= cols // G = WWᵀ (rows×rows), else WᵀW (cols×cols)
	if !wideRows {
		n, m = cols, rows
	}
	// ws holds the scaled matrix with the Gram's inner dimension contiguous:
	// W itself (n×m) when wideRows, Wᵀ (cols×rows) otherwise.
	ws := make([]float64, n*m)
	var frob float64
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := float64(w[i*cols+j]) * scale // exact
			frob += v * v
			if wideRows {
				ws[i*m+j] = v
			} else {
				ws[j*m+i] = v
			}
		}
	}
	frobUp := mulUp(frob, 1+gamma(rows*cols, u64)) // ≥ ‖W‖_F² (scaled)

	var b SingularBounds
	if n > maxDense {
		// Too large to factorise: ‖W‖₂ ≤ ‖W‖_F, and no σ_min bound.
		b.MaxUpper = math.Ldexp(sqrtUp(frobUp), e)
		b.MaxEstimate = b.MaxUpper
		return b, nil
	}
	G := make([]float64, n*n)
	for i := 0; i < n; i++ {
		ri := ws[i*m : i*m+m]
		for j := 0; j <= i; j++ {
			rj := ws[j*m : j*m+m]
			var s float64
			for p, v := range ri {
				s += v * rj[p]
			}
			G[i*n+j] = s
			G[j*n+i] = s
		}
	}
	// ‖ΔG‖₂ ≤ γ_m ‖W‖_F² plus m·n underflow terms (cannot occur after the
	// scaling for float32 data, counted anyway).
	epsG := mulUp(mulUp(gamma(m, u64), frobUp), safety) + float64(n*m)*tiny64

	lam := powerIteration(G, n)
	work := make([]float64, n*n)
	neg := make([]float64, n*n)
	for i, v := range G {
		neg[i] = -v
	}
	// Certify λ_max(G) ≤ T: λ_min(−G) ≥ lb with B = −G + T·I.
	upper := math.NaN()
	kappa := 4*float64(n*n)*u64 + 1e-15
	failedT := lam
	for try := 0; try < 60; try++ {
		T := lam*(1+kappa) + epsG
		if lb, ok := eigLowerChol(neg, n, -T, epsG, work); ok {
			upper = -lb
			// Tighten between the last failure and this success.
			lo, hi := failedT, T
			steps := 40
			if n > 256 {
				steps = 8
			}
			for step := 0; step < steps && hi-lo > 1e-13*hi; step++ {
				mid := lo + (hi-lo)/2
				if lb, ok := eigLowerChol(neg, n, -mid, epsG, work); ok {
					upper = min(upper, -lb)
					hi = mid
				} else {
					lo = mid
				}
			}
			break
		}
		failedT = T
		kappa *= 16
	}
	if math.IsNaN(upper) || upper > frobUp {
		upper = frobUp // ‖W‖₂² ≤ ‖W‖_F² always holds
	}
	b.MaxUpper = math.Ldexp(sqrtUp(upper), e)
	b.MaxEstimate = math.Ldexp(math.Sqrt(lam), e)

	if wideRows { // σ_min of Wᵀ on R^rows: λ_min(WWᵀ) = λ_min(G)
		var lb float64
		ok := false
		switch {
		case minAbove < 0:
			steps := 60
			if n > 256 {
				steps = 12
			}
			lb, ok = eigLowerBisect(G, n, 0, upper, epsG, steps, work)
		default:
			s := minAbove * minAbove * scale * scale // in the scaled units
			if _, ok0 := eigLowerChol(G, n, up(s), epsG, work); ok0 {
				lb, ok = eigLowerBisect(G, n, up(s), upper, epsG, 40, work)
			}
		}
		if ok && lb > 0 {
			b.MinLower = math.Ldexp(sqrtDown(lb), e)
		}
	}
	return b, nil
}

// powerIteration estimates λ_max of the symmetric positive semidefinite
// n×n matrix G by power iteration from a fixed pseudo-random start.
func powerIteration(G []float64, n int) float64 {
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	v := make([]float64, n)
	y := make([]float64, n)
	for i := range v {
		v[i] = 0.5 + rng.Float64()
	}
	normalize(v)
	lam, prev := 0.0, -1.0
	stable := 0
	for it := 0; it < 3000; it++ {
		for i := 0; i < n; i++ {
			row := G[i*n : i*n+n]
			var s float64
			for j, g := range row {
				s += g * v[j]
			}
			y[i] = s
		}
		var rq float64
		for i := range v {
			rq += v[i] * y[i]
		}
		lam = rq
		if normalize(y) == 0 {
			return 0
		}
		v, y = y, v
		if math.Abs(lam-prev) <= 1e-15*lam {
			stable++
			if stable >= 5 {
				break
			}
		} else {
			stable = 0
		}
		prev = lam
	}
	return max(lam, 0)
}

func normalize(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	s = math.Sqrt(s)
	if s == 0 {
		return 0
	}
	for i := range v {
		v[i] /= s
	}
	return s
}
