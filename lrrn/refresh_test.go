package lrrn

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefreshMatchesNewSolver changes the weights and checks that Refresh
// (whole, and in parts) gives the plans a new solver computes, within the
// rounding bound refreshTol derives, and that it does not allocate.
func TestRefreshMatchesNewSolver(t *testing.T) {
	for _, tc := range testModels() {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.model.Clone()
			s, err := NewSolver(m)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(5, 6))
			for k := range m.W {
				for i := range m.W[k] {
					m.W[k][i] += float32(0.2 * rng.NormFloat64())
				}
				for i := range m.B[k] {
					m.B[k][i] += float32(0.2 * rng.NormFloat64())
				}
			}
			fresh, err := NewSolver(m)
			require.NoError(t, err)
			var worst float64
			for _, parts := range []int{1, 2, 3} {
				s.RefreshParallel(parts, runConcurrently(parts))
				for pi, pl := range []*plan{&s.free, &s.clamped} {
					want := []*plan{&fresh.free, &fresh.clamped}[pi]
					for li := range pl.layers {
						a, b := &pl.layers[li], &want.layers[li]
						tols := refreshTol(m, a.k, a.q != nil)
						for name, pair := range map[string][2][]float32{"h": {a.h, b.h}, "invH": {a.invH, b.invH}, "p": {a.p, b.p}, "q": {a.q, b.q}, "e": {a.e, b.e}} {
							require.Len(t, pair[0], len(pair[1]), name)
							require.Len(t, tols[name], len(pair[1]), name)
							for i := range pair[0] {
								require.InDelta(t, pair[1][i], pair[0][i], tols[name][i], "%s[%d] of layer %d, parts=%d", name, i, a.k, parts)
								worst = max(worst, math.Abs(float64(pair[0][i])-float64(pair[1][i]))/tols[name][i])
							}
						}
					}
				}
			}
			t.Logf("largest |Refresh − NewSolver| ÷ bound: %.3f", worst)
			allocs := testing.AllocsPerRun(5, s.Refresh)
			require.Zero(t, allocs)
			seq := func(f func(int)) { f(0); f(1) }
			allocs = testing.AllocsPerRun(5, func() { s.RefreshParallel(2, seq) })
			require.Zero(t, allocs)
		})
	}
}

// gamma32 returns γ_n = n·u/(1−n·u) for float32 (u = 2⁻²⁴): a value that
// went through n roundings (products, quotients, sums of terms of one
// sign, in any order, with or without FMA) is within γ_n of the exact
// value relative to the sum of its terms' magnitudes (Higham, "Accuracy and
// Stability of Numerical Algorithms", Lemma 3.1 and §3.1).
func gamma32(n int) float64 {
	nu := float64(n) * 0x1p-24
	return nu / (1 - nu)
}

// refreshTol returns, per entry of the plan of block k (top: term k is in
// the problem), a bound on |Refresh's value − NewSolver's|. Refresh computes
// in float32 (β, γ rounded to float32 first), NewSolver in float64 rounded
// once to float32 at the end; with dl = d_{k−1}, du = d_{k+1} (0 unless
// top), u = 2⁻²⁴ and the float64 path's γ64_n ≤ u for these sizes:
//
//   - h_ij = β_{k−1}Σ_r W_{k−1}[i,r]W_{k−1}[j,r] + γΣ_r W_k[r,i]W_k[r,j]
//   - δ_ij(1 + γβ_k): a β-term goes through β's conversion, its product,
//     dl−1 Gram additions, β·g, +1, +γc and +γβ_k: ≤ dl+5 roundings; a
//     γ-term ≤ du+4; the constants ≤ 4. So Refresh is within
//     γ_{n}·Habs_ij, n = max(dl, du)+5, Habs the sum of the terms'
//     magnitudes; NewSolver within γ64_n·Habs and then u·|H|; together
//     (γ_n + u + γ64_n)·Habs ≤ γ_{n+2}·Habs.
//   - 1/h_ii: every term of h_ii is ≥ 0 (β, γ ≥ 0), so Habs_ii = H_ii and
//     the relative errors chain: Refresh γ_{n+1}, NewSolver γ64_{n+1} + u,
//     together ≤ γ_{n+3} relative to 1/H_ii.
//   - p = (1+β_{k−1})W_{k−1}: Refresh 3 roundings (β, 1+β, ·w), NewSolver
//     γ64_2 + u: ≤ γ_5·(1+β)|w|.
//   - q = γ(1+β_k)W_kᵀ: Refresh 5 (γ, β, 1+β, γ·(1+β), ·w), NewSolver
//     γ64_3 + u: ≤ γ_7·γ(1+β_k)|w|.
//   - e = b_{k−1} − γW_kᵀb_k: Refresh du+3 per term (the du-term product,
//     γ's conversion, γ·, −), NewSolver γ64_{du+2} + u: ≤ γ_{du+5}·Eabs_i,
//     Eabs_i = |b_i| + γΣ_r|W_k[r,i]b_r|.
//
// The magnitudes are computed here in float64 (relative error far below
// u), which one more γ step covers (n+1 in each γ_{n} above). A product of
// float32 values that underflows, or is flushed to zero, errs by at most
// 2⁻¹²⁶: (β+1)(dl+du+4) such errors per entry, counted twice, are added.
func refreshTol(m *Model, k int, top bool) map[string][]float64 {
	d, dl := m.Sizes[k], m.Sizes[k-1]
	Wl, bl := m.W[k-1], m.B[k-1]
	betaL, g := m.Beta[k-1], m.Gamma
	var du int
	var Wu, bu []float32
	var betaU float64
	if top {
		du, Wu, bu, betaU = m.Sizes[k+1], m.W[k], m.B[k], m.Beta[k]
	}
	n := max(dl, du) + 5
	under := 2 * (betaL + 1) * float64(dl+du+4) * 0x1p-126
	abs := func(x float32) float64 { return math.Abs(float64(x)) }
	t := map[string][]float64{"h": make([]float64, d*d), "invH": make([]float64, d), "e": make([]float64, d)}
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			var habs float64
			for r := 0; r < dl; r++ {
				habs += betaL * abs(Wl[i*dl+r]) * abs(Wl[j*dl+r])
			}
			for r := 0; r < du; r++ {
				habs += g * abs(Wu[r*d+i]) * abs(Wu[r*d+j])
			}
			if i == j {
				habs += 1 + g*betaU
				t["invH"][i] = gamma32(n+3+1)/habs + under
			}
			t["h"][i*d+j] = gamma32(n+2+1)*habs + under
		}
		eabs := abs(bl[i])
		for r := 0; r < du; r++ {
			eabs += g * abs(Wu[r*d+i]) * abs(bu[r])
		}
		t["e"][i] = gamma32(du+5+1)*eabs + under
	}
	if k >= 2 {
		t["p"] = make([]float64, len(Wl))
		for i, w := range Wl {
			t["p"][i] = gamma32(5+1)*(1+betaL)*abs(w) + under
		}
	}
	if top {
		t["q"] = make([]float64, d*du)
		for r := 0; r < du; r++ {
			for i := 0; i < d; i++ {
				t["q"][i*du+r] = gamma32(7+1)*g*(1+betaU)*abs(Wu[r*d+i]) + under
			}
		}
	}
	return t
}

// TestResetChecksConfiguration: Reset accepts a copy and refuses another
// architecture.
func TestResetChecksConfiguration(t *testing.T) {
	m := testModels()[0].model
	s, err := NewSolver(m)
	require.NoError(t, err)
	require.NoError(t, s.Reset(m.Clone()))
	other := randomModel([]int{7, 6, 4, 3}, m.Acts, m.Beta, m.Gamma, 1, 1)
	require.ErrorIs(t, s.Reset(other), ErrShape)
}

// runConcurrently returns a RefreshParallel runner that calls every part
// on a goroutine of its own.
func runConcurrently(parts int) func(func(int)) {
	return func(f func(int)) {
		var wg sync.WaitGroup
		for p := 0; p < parts; p++ {
			wg.Add(1)
			go func() { defer wg.Done(); f(p) }()
		}
		wg.Wait()
	}
}

// TestRefreshParallelIsDeterministic: splitting the Gram products into
// pieces run concurrently gives the bits of running them in sequence.
func TestRefreshParallelIsDeterministic(t *testing.T) {
	m := testModels()[0].model.Clone()
	a, err := NewSolver(m)
	require.NoError(t, err)
	b, err := NewSolver(m)
	require.NoError(t, err)
	for _, parts := range []int{1, 2, 5} {
		a.RefreshParallel(parts, func(f func(int)) {
			for p := parts - 1; p >= 0; p-- {
				f(p)
			}
		})
		b.RefreshParallel(parts, runConcurrently(parts))
		for pi, pl := range []*plan{&a.free, &a.clamped} {
			other := []*plan{&b.free, &b.clamped}[pi]
			for li := range pl.layers {
				x, y := &pl.layers[li], &other.layers[li]
				require.Equal(t, x.h, y.h, "h of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.invH, y.invH, "invH of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.p, y.p, "p of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.q, y.q, "q of layer %d, parts=%d", x.k, parts)
				require.Equal(t, x.e, y.e, "e of layer %d, parts=%d", x.k, parts)
			}
		}
	}
	require.Panics(t, func() { a.RefreshParallel(0, func(func(int)) {}) })
}
