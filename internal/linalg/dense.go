package linalg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lrrn/lrrn/asm"
)

// This file holds the fast dense float64 kernels of the per-model work
// (Gram products, Cholesky factorisation, Lanczos estimates): blocked,
// spread over the available cores, and deterministic — every entry is
// computed by the same sequence of operations whatever the number of
// goroutines, because the work is cut into a fixed grid of tiles that
// depends on the sizes only, and each tile is computed by one goroutine.

// tile is the edge of the square tiles the products and the factorisation
// are cut into (a multiple of the micro-kernel's 4×2 block).
const tile = 64

// parallel runs f(0) … f(n−1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// dotNT computes, for the rows i0 ≤ i < i1 of a and j0 ≤ j < j1 of b (row
// strides sa and sb, the products over columns p0 … p0+k−1), c[i*sc+j] ⊖=
// Σ_p a[i,p]·b[j,p]: subtracted when sub is true, stored otherwise. Only
// entries with j ≤ i+jmax are computed (jmax < 0: all; for the lower
// triangle pass jmax = 0 — entries above it in the 4×2 blocks that straddle
// the diagonal are computed too, but the caller ignores them).
//
// Entries in full 4×2 blocks are summed by asm.Dot4x2 (on the avx2, avx512
// and neon tiers in four lanes by residue of p mod 4, then the lanes, then
// the last k mod 4 products; on the generic tier one chain in index order),
// the others by one chain in index order. The grid of blocks depends only on
// the sizes, so the result of an entry does not depend on which goroutine
// computes it. Every order is a valid evaluation of the sum for the error
// bounds (γ_k, any order).
func dotNT(c []float64, sc int, a []float64, sa int, b []float64, sb int, i0, i1, j0, j1, p0, k int, sub, lower bool) {
	i := i0
	for ; i+4 <= i1; i += 4 {
		a0 := a[i*sa+p0 : i*sa+p0+k]
		a1 := a[(i+1)*sa+p0 : (i+1)*sa+p0+k]
		a2 := a[(i+2)*sa+p0 : (i+2)*sa+p0+k]
		a3 := a[(i+3)*sa+p0 : (i+3)*sa+p0+k]
		jEnd := j1
		if lower {
			jEnd = min(j1, i+4)
		}
		j := j0
		for ; j+2 <= jEnd; j += 2 {
			b0 := b[j*sb+p0 : j*sb+p0+k]
			b1 := b[(j+1)*sb+p0 : (j+1)*sb+p0+k]
			r := asm.Dot4x2(a0, a1, a2, a3, b0, b1)
			s00, s01, s10, s11, s20, s21, s30, s31 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
			put(c, i*sc+j, s00, sub)
			put(c, i*sc+j+1, s01, sub)
			put(c, (i+1)*sc+j, s10, sub)
			put(c, (i+1)*sc+j+1, s11, sub)
			put(c, (i+2)*sc+j, s20, sub)
			put(c, (i+2)*sc+j+1, s21, sub)
			put(c, (i+3)*sc+j, s30, sub)
			put(c, (i+3)*sc+j+1, s31, sub)
		}
		for ; j < jEnd; j++ {
			for r := i; r < i+4; r++ {
				put(c, r*sc+j, dot(a[r*sa+p0:r*sa+p0+k], b[j*sb+p0:j*sb+p0+k]), sub)
			}
		}
	}
	for ; i < i1; i++ {
		jEnd := j1
		if lower {
			jEnd = min(j1, i+1)
		}
		for j := j0; j < jEnd; j++ {
			put(c, i*sc+j, dot(a[i*sa+p0:i*sa+p0+k], b[j*sb+p0:j*sb+p0+k]), sub)
		}
	}
}

func put(c []float64, at int, s float64, sub bool) {
	if sub {
		c[at] -= s
	} else {
		c[at] = s
	}
}

// dot is Σ x[p]·y[p] accumulated in the order p = 0, 1, … (one chain, the
// same order as dotNT's blocks).
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s float64
	for p, v := range x {
		s += v * y[p]
	}
	return s
}

// Gram sets g (n×n, row-major, both triangles) to A·Aᵀ for the n×k
// row-major matrix a, in float64: each entry is Σ_p a[i,p]·a[j,p] summed
// in an order fixed by the sizes and the SIMD tier (dotNT), so that
// |Ĝ − G| ≤ γ_k|A||A|ᵀ, and g[j,i] is a copy of g[i,j]. Deterministic
// (the same bits whatever the number of cores); spread over the cores.
func Gram(g, a []float64, n, k int) {
	nb := (n + tile - 1) / tile
	// Tiles (I, J) with J ≤ I, numbered row by row.
	type ij struct{ i, j int }
	tiles := make([]ij, 0, nb*(nb+1)/2)
	for I := 0; I < nb; I++ {
		for J := 0; J <= I; J++ {
			tiles = append(tiles, ij{I, J})
		}
	}
	parallel(len(tiles), func(t int) {
		I, J := tiles[t].i, tiles[t].j
		i0, i1 := I*tile, min(n, (I+1)*tile)
		j0, j1 := J*tile, min(n, (J+1)*tile)
		dotNT(g, n, a, k, a, k, i0, i1, j0, j1, 0, k, false, I == J)
	})
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			g[j*n+i] = g[i*n+j]
		}
	}
}

// Cholesky factorises the symmetric n×n row-major matrix a in place (only
// its lower triangle is read): on success (every pivot positive and finite) the lower triangle of a holds
// R̂ᵀ (row i: r_0i … r_ii), a blocked, parallel version of the row-by-row
// scheme r_ij = (a_ij − Σ_{p<j} r_ip r_jp)/r_jj, r_jj = √(a_jj − Σ_{p<j}
// r_jp²). The entries above the diagonal are overwritten with garbage.
//
// Rounding: each entry's sum Σ_{p<j} is evaluated as a sequence of
// partial sums (one per block column of width 64, each a single chain)
// subtracted from a_ij in turn, then the division: an evaluation of
// (a_ij − Σ r_ip r_jp)/r_jj in some order, to which Higham's Lemma 8.4
// applies, so the computed factor satisfies R̂ᵀR̂ = A + ΔA with |ΔA| ≤
// γ_{n+1}|R̂ᵀ||R̂| exactly as for the unblocked algorithm (Higham, Accuracy
// and Stability of Numerical Algorithms, Thm. 10.3 and the remark that it
// holds for every ordering of the computation). The result does not depend
// on the number of goroutines.
//
// first, when not nil, gives for every row i the first column whose
// entry may be nonzero (an envelope: a[i, j] = 0 for j < first[i]); the
// factor has the same envelope, and products with its zeros are skipped.
// Skipping exact zeros changes no result: a product with a zero factor is
// an exact zero, and adding it is exact. Block-tridiagonal matrices of deep
// networks factorise in time linear in the number of blocks.
//
// It fails, naming the pivot, at the first pivot that is not positive and
// finite (the matrix is not numerically positive definite); a is then
// partly overwritten.
func Cholesky(a []float64, n int, first []int) error {
	nb := (n + tile - 1) / tile
	// fb[I]: the first tile column with a nonzero entry in tile row I.
	fb := make([]int, nb)
	if first != nil {
		for I := range fb {
			f := n
			for i := I * tile; i < min(n, (I+1)*tile); i++ {
				f = min(f, first[i])
			}
			fb[I] = f / tile
		}
	}
	for J := 0; J < nb; J++ {
		j0, j1 := J*tile, min(n, (J+1)*tile)
		// Left-looking update of block column J, rows j0 … n−1:
		// a[i, j] −= Σ_{p<j0} r_ip r_jp, one tile row per task (tile rows
		// whose envelope starts after J hold zeros there: skipped).
		if j0 > 0 {
			parallel(nb-J, func(t int) {
				I := J + t
				if fb[I] > J {
					return
				}
				p0 := max(fb[I], fb[J]) * tile
				i0, i1 := I*tile, min(n, (I+1)*tile)
				dotNT(a, n, a, n, a, n, i0, i1, j0, j1, p0, j0-p0, true, I == J)
			})
		}
		// Diagonal block: the unblocked scheme over columns j0 … j1−1.
		for j := j0; j < j1; j++ {
			rj := a[j*n : j*n+j+1]
			for q := j0; q < j; q++ {
				rq := a[q*n+j0 : q*n+q]
				s := rj[q]
				for p, v := range rq {
					s -= v * rj[j0+p]
				}
				rj[q] = s / a[q*n+q]
			}
			d := rj[j]
			for _, v := range rj[j0:j] {
				d -= v * v
			}
			if !(d > 0) || math.IsInf(d, 0) {
				return fmt.Errorf("linalg: matrix not positive definite (pivot %d of %d: %g)", j, n, d)
			}
			rj[j] = math.Sqrt(d)
		}
		// Panel below the diagonal block: rows j1 … n−1, columns j0 … j1−1.
		parallel(nb-J-1, func(t int) {
			I := J + 1 + t
			if fb[I] > J {
				return
			}
			i0, i1 := I*tile, min(n, (I+1)*tile)
			for i := i0; i < i1; i++ {
				ri := a[i*n : i*n+j1]
				for q := j0; q < j1; q++ {
					rq := a[q*n+j0 : q*n+q]
					s := ri[q]
					for p, v := range rq {
						s -= v * ri[j0+p]
					}
					ri[q] = s / a[q*n+q]
				}
			}
		})
	}
	return nil
}

// Lanczos estimates the smallest and largest eigenvalues of the symmetric
// n×n operator mul (mul(y, x) sets y = A·x) by the Lanczos process with
// full reorthogonalisation from a fixed pseudo-random start, for at most
// maxSteps steps. The estimates are extreme Ritz values: in exact
// arithmetic lo ≥ λ_min(A) and hi ≤ λ_max(A), converging quickly to them;
// they are NOT certified bounds — callers certify with Cholesky. It stops
// early when both estimates changed by less than tol relative over the
// last 8 steps, or the Krylov space is exhausted.
func Lanczos(n, maxSteps int, tol float64, mul func(y, x []float64)) (lo, hi float64) {
	l, h := LanczosBatch(n, 1, maxSteps, tol, mul)
	return l[0], h[0]
}

// LanczosBatch runs Lanczos (as Lanczos does) on p symmetric n×n operators
// in lockstep, so that mul can apply all of them in one pass over shared
// data: mul(Y, X) sets Y[i*p+t] = (A_t·x_t)[i] for the vectors stored
// interleaved, X[i*p+t] = x_t[i]. A process that has converged or
// exhausted its Krylov space keeps its estimates (its column of X is then
// zero). The result is the same as p separate Lanczos calls.
func LanczosBatch(n, p, maxSteps int, tol float64, mul func(Y, X []float64)) (lo, hi []float64) {
	lo, hi = make([]float64, p), make([]float64, p)
	if n == 0 {
		return lo, hi
	}
	m := min(n, maxSteps)
	type proc struct {
		Q           []float64
		q, w        []float64
		alpha, beta []float64
		prevLo      float64
		prevHi      float64
		done        bool
	}
	ps := make([]proc, p)
	for t := range ps {
		pr := &ps[t]
		pr.Q = make([]float64, 0, n*m)
		rng := rand.New(rand.NewPCG(0x1a2c, uint64(n)))
		pr.q = make([]float64, n)
		for i := range pr.q {
			pr.q[i] = rng.Float64() - 0.5
		}
		scale(pr.q, 1/math.Sqrt(dot(pr.q, pr.q)))
		pr.w = make([]float64, n)
		pr.prevLo, pr.prevHi = math.NaN(), math.NaN()
	}
	X := make([]float64, n*p)
	Y := make([]float64, n*p)
	for j := 0; j < m; j++ {
		active := 0
		for t := range ps {
			pr := &ps[t]
			for i := 0; i < n; i++ {
				if pr.done {
					X[i*p+t] = 0
				} else {
					X[i*p+t] = pr.q[i]
				}
			}
			if !pr.done {
				active++
			}
		}
		if active == 0 {
			break
		}
		mul(Y, X)
		for t := range ps {
			pr := &ps[t]
			if pr.done {
				continue
			}
			pr.Q = append(pr.Q, pr.q...)
			w := pr.w
			for i := range w {
				w[i] = Y[i*p+t]
			}
			pr.alpha = append(pr.alpha, dot(pr.q, w))
			// Full reorthogonalisation (twice is enough) against q_0 … q_j.
			for pass := 0; pass < 2; pass++ {
				for i := 0; i <= j; i++ {
					qi := pr.Q[i*n : i*n+n]
					axpy(-dot4(qi, w), qi, w)
				}
			}
			b := math.Sqrt(dot4(w, w))
			lo[t], hi[t] = tridiagExtremes(pr.alpha, pr.beta)
			if j%8 == 7 {
				if math.Abs(lo[t]-pr.prevLo) <= tol*math.Abs(lo[t]) && math.Abs(hi[t]-pr.prevHi) <= tol*math.Abs(hi[t]) {
					pr.done = true
				}
				pr.prevLo, pr.prevHi = lo[t], hi[t]
			}
			if b <= 1e-14*max(math.Abs(lo[t]), math.Abs(hi[t])) {
				pr.done = true
			}
			if pr.done {
				pr.Q = nil
				continue
			}
			pr.beta = append(pr.beta, b)
			for i := range pr.q {
				pr.q[i] = w[i] / b
			}
		}
	}
	return lo, hi
}

// dot4 is Σ x[p]·y[p] in four interleaved chains (p mod 4), added at the
// end: four times the throughput of one chain, for the Lanczos process
// (estimates only; deterministic for a given length).
func dot4(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	p := 0
	for ; p+4 <= len(x); p += 4 {
		s0 += x[p] * y[p]
		s1 += x[p+1] * y[p+1]
		s2 += x[p+2] * y[p+2]
		s3 += x[p+3] * y[p+3]
	}
	for ; p < len(x); p++ {
		s0 += x[p] * y[p]
	}
	return (s0 + s2) + (s1 + s3)
}

func scale(x []float64, s float64) {
	for i := range x {
		x[i] *= s
	}
}

func axpy(a float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// tridiagExtremes returns the smallest and largest eigenvalues of the
// symmetric tridiagonal matrix with diagonal alpha and off-diagonal beta
// (len(beta) = len(alpha)−1), by bisection on Sturm counts.
func tridiagExtremes(alpha, beta []float64) (lo, hi float64) {
	n := len(alpha)
	// Gershgorin interval.
	gl, gh := math.Inf(1), math.Inf(-1)
	for i, a := range alpha {
		r := 0.0
		if i > 0 {
			r += math.Abs(beta[i-1])
		}
		if i < n-1 {
			r += math.Abs(beta[i])
		}
		gl, gh = min(gl, a-r), max(gh, a+r)
	}
	span := max(gh-gl, math.Abs(gh), math.Abs(gl)) * 1e-15
	gl, gh = gl-span, gh+span
	// below(x) counts the eigenvalues < x.
	below := func(x float64) int {
		cnt := 0
		d := 1.0
		for i, a := range alpha {
			b2 := 0.0
			if i > 0 {
				b2 = beta[i-1] * beta[i-1]
			}
			d = a - x - b2/d
			if d == 0 {
				d = -1e-300
			}
			if d < 0 {
				cnt++
			}
		}
		return cnt
	}
	bisect := func(k int) float64 { // the k-th smallest eigenvalue (0-based)
		l, h := gl, gh
		for it := 0; it < 200; it++ {
			mid := l + (h-l)/2
			if mid <= l || mid >= h {
				break
			}
			if below(mid) > k {
				h = mid
			} else {
				l = mid
			}
		}
		return l + (h-l)/2
	}
	return bisect(0), bisect(n - 1)
}

// SymMatVec sets y = s·A·x for the n×n row-major matrix a (all of it is
// read), rows spread over the cores in fixed chunks (deterministic).
func SymMatVec(y, a, x []float64, n int, s float64) {
	MatVecMulti(y, a, x, n, 1, []float64{s})
}

// MatVecMulti applies the n×n row-major matrix a, scaled by s[t], to p
// vectors stored interleaved: y[i*p+t] = s[t]·Σ_j a[i,j]·x[j*p+t]. One pass
// over a serves all p vectors; rows are spread over the cores in fixed
// chunks, and each entry is one chain in index order (deterministic).
func MatVecMulti(y, a, x []float64, n, p int, s []float64) {
	const chunk = 64
	parallel((n+chunk-1)/chunk, func(c int) {
		i := c * chunk
		end := min(n, (c+1)*chunk)
		if p == 1 {
			x := x[:n]
			for ; i+4 <= end; i += 4 {
				a0, a1, a2, a3 := a[i*n:i*n+n], a[(i+1)*n:(i+1)*n+n], a[(i+2)*n:(i+2)*n+n], a[(i+3)*n:(i+3)*n+n]
				var s0, s1, s2, s3 float64
				for j, v := range x {
					s0 += a0[j] * v
					s1 += a1[j] * v
					s2 += a2[j] * v
					s3 += a3[j] * v
				}
				y[i], y[i+1], y[i+2], y[i+3] = s[0]*s0, s[0]*s1, s[0]*s2, s[0]*s3
			}
			for ; i < end; i++ {
				y[i] = s[0] * dot(a[i*n:i*n+n], x)
			}
			return
		}
		if p == 4 {
			for ; i < end; i++ {
				row := a[i*n : i*n+n]
				x := x[:4*n]
				var s0, s1, s2, s3 float64
				for j, v := range row {
					xj := x[4*j : 4*j+4 : 4*j+4]
					s0 += v * xj[0]
					s1 += v * xj[1]
					s2 += v * xj[2]
					s3 += v * xj[3]
				}
				y[4*i], y[4*i+1], y[4*i+2], y[4*i+3] = s[0]*s0, s[1]*s1, s[2]*s2, s[3]*s3
			}
			return
		}
		var acc [8]float64
		for ; i < end; i++ {
			row := a[i*n : i*n+n]
			if p <= len(acc) {
				ac := acc[:p]
				clear(ac)
				for j, v := range row {
					xj := x[j*p : j*p+p]
					for t := range ac {
						ac[t] += v * xj[t]
					}
				}
				for t := range ac {
					y[i*p+t] = s[t] * ac[t]
				}
				continue
			}
			for t := 0; t < p; t++ {
				var sum float64
				for j, v := range row {
					sum += v * x[j*p+t]
				}
				y[i*p+t] = s[t] * sum
			}
		}
	})
}
