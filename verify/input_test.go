package verify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/lrrn"
	"github.com/stretchr/testify/require"
)

// inputImages returns test inputs of d0 pixels for the input part: the
// fixture's images (when d0 = 784), an all-zero one, all-dense ones (every
// pixel nonzero), single pixels at the chunk borders, one just at and one
// just over the sparse path's limit nzMax, and one with huge and tiny
// values.
func inputImages(t testing.TB, rng *rand.Rand, d0, chunk, nzMax int) (x [][]float32, names []string) {
	add := func(name string, v []float32) { x, names = append(x, v), append(names, name) }
	if d0 == 784 {
		im, _ := mnistFixture(t)
		for j := 0; j < 40; j++ {
			add(fmt.Sprintf("mnist %d", j), im.Pixels[j*784:j*784+784])
		}
	}
	add("zero", make([]float32, d0))
	for r := 0; r < 2; r++ {
		v := make([]float32, d0)
		for p := range v {
			v[p] = float32(rng.Float64()*2 - 1)
			if v[p] == 0 {
				v[p] = 0.5
			}
		}
		add("dense", v)
	}
	for _, p := range []int{0, 1, chunk - 1, chunk, min(chunk+1, d0-1), d0 - 1} {
		v := make([]float32, d0)
		v[p] = float32(rng.Float64()) + 0.5
		add(fmt.Sprintf("pixel %d", p), v)
	}
	for _, k := range []int{nzMax, nzMax + 1} {
		v := make([]float32, d0)
		for _, p := range rng.Perm(d0)[:min(k, d0)] {
			v[p] = float32(rng.Float64()) + 0.01
		}
		add(fmt.Sprintf("%d nonzeros", k), v)
	}
	v := make([]float32, d0)
	for p := range v {
		if p%3 == 0 {
			v[p] = float32(math.Ldexp(rng.Float64()+1, rng.IntN(120)-60))
		}
	}
	add("wide range", v)
	return x, names
}

// TestInputProductBound: the input part v = W_0 x, by the sparse path and
// by the dense one, is within its certified rounding bound of the exact
// product for every unit — |v̂_i − v_i| ≤ vRel·Σ_p|w_ip·x_p| + cv0, which
// buildInput's ‖Δv‖ bounds rest on — on the trained model and on a model
// whose d0 is no multiple of the chunk, on every tier. Each input's v does
// not depend on the other inputs of its tile (sparse and dense inputs
// mixed, at every position). On the generic, avx2 and avx512 tiers, whose
// dense products are one chain per element over the pixels in order like
// the sparse ones, both paths give the same bits (up to the sign of a
// zero): leaving out the zero pixels' exact ±0 terms changes no rounding.
func TestInputProductBound(t *testing.T) {
	trained, _ := trainedModel(t)
	odd, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{300, 24, 10}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.Linear},
		Beta: []float64{1, 0.5}, Gamma: 0.25, Passes: 5}, 3)
	require.NoError(t, err)
	saved := asm.CurrentTier()
	defer asm.SetTier(saved)
	T := lrrn.TileSize
	for _, tier := range asm.Available() {
		require.NoError(t, asm.SetTier(tier))
		for _, m := range []*lrrn.Model{trained, odd} {
			c, err := New(m, Options{Workers: 1, Passes: 1})
			require.NoError(t, err)
			d0, d1 := c.d0, c.d1
			rng := rand.New(rand.NewPCG(uint64(d0), 5))
			xs, names := inputImages(t, rng, d0, c.chunk, c.nzMax)
			sc := c.newScratch()
			v := make([]float32, T*d1)
			// alone: each input first in a tile of zeros (both paths).
			alone := make([][]float32, len(xs))
			for j, xj := range xs {
				x := make([]float32, T*d0)
				copy(x, xj)
				c.inputProduct(sc, x, T, v)
				nz := 0
				for _, p := range xj {
					if p != 0 {
						nz++
					}
				}
				what := fmt.Sprintf("tier %s d0=%d %s (%d nonzeros)", tier, d0, names[j], nz)
				require.Equal(t, nz <= c.nzMax, sc.sparse[0], "%s: path", what)
				alone[j] = append([]float32(nil), v[:d1]...)
				checkInputBound(t, c, xj, alone[j], what)
				nzMax := c.nzMax
				c.nzMax = 0 // the dense path (but for the zero input)
				c.inputProduct(sc, x, T, v)
				c.nzMax = nzMax
				checkInputBound(t, c, xj, v[:d1], what+" dense path")
				if tier == asm.Generic || tier == asm.AVX2 || tier == asm.AVX512 {
					for i := range d1 {
						require.True(t, alone[j][i] == v[i], "%s unit %d: sparse %v, dense %v", what, i, alone[j][i], v[i])
					}
				}
			}
			// Mixed tiles: the inputs at shifting positions, in full
			// and partial tiles; and a tile of inputs with nzMax nonzero
			// pixels each (the most the scratch keeps) ending with a
			// dense one (whose scan writes up to a chunk past them).
			at := map[string]int{}
			for i, name := range names {
				at[name] = i
			}
			full := make([]int, T)
			for r := range full {
				full[r] = at[fmt.Sprintf("%d nonzeros", c.nzMax)]
			}
			full[T-1] = at["dense"]
			for shift, n := range []int{T, 7, len(xs), -1} {
				fill := func(r int) int { return (r*5 + shift) % len(xs) }
				if n < 0 {
					n, fill = T, func(r int) int { return full[r] }
				}
				n = min(n, T)
				x := make([]float32, T*d0)
				pos := make([]int, n)
				for r := range n {
					pos[r] = fill(r)
					copy(x[r*d0:], xs[pos[r]])
				}
				c.inputProduct(sc, x, n, v)
				for r := range n {
					require.True(t, sameBits32(alone[pos[r]], v[r*d1:r*d1+d1]),
						"tier %s d0=%d %s at row %d of %d: v differs from the input alone", tier, d0, names[pos[r]], r, n)
				}
			}
		}
	}
}

// checkInputBound checks one input's v within the certified bound of the
// float64 product (itself within γ_{d0}(float64)·Σ|w_ip·x_p| of the exact
// one, which the allowance adds).
func checkInputBound(t *testing.T, c *Certifier, x, v []float32, what string) {
	t.Helper()
	d0 := c.d0
	W := c.m.W[0]
	for i := range c.d1 {
		var s, abs float64
		for p := range d0 {
			term := float64(W[i*d0+p]) * float64(x[p])
			s += term
			abs += math.Abs(term)
		}
		allowed := c.vRel*abs + c.cv0 + 2*gamma(d0, u64)*abs
		require.LessOrEqual(t, math.Abs(float64(v[i])-s), allowed, "%s unit %d: v=%v exact %v (Σ|w·x|=%g)", what, i, v[i], s, abs)
	}
}

func sameBits32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// BenchmarkInputPart: the input part (‖x‖ and W_0 x) per image of a tile,
// by the sparse path, the dense path and as chosen (nzMax), on tiles of
// the fixture and of images with a given share of nonzero pixels (at
// random places), to place sparseMax's break-even.
func BenchmarkInputPart(b *testing.B) {
	m, _ := trainedModel(b)
	im, _ := mnistFixture(b)
	c, err := New(m, Options{Workers: 1, Passes: 20})
	if err != nil {
		b.Fatal(err)
	}
	T := lrrn.TileSize
	nzMax := c.nzMax
	names := []string{"mnist"}
	tiles := map[string][]float32{"mnist": im.Pixels[:T*784]}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pct := range []int{10, 20, 30, 40, 50, 60, 70, 100} {
		x := make([]float32, T*784)
		for j := range T {
			for _, p := range rng.Perm(784)[:784*pct/100] {
				x[j*784+p] = float32(rng.Float64()) + 0.01
			}
		}
		name := fmt.Sprintf("nonzero=%d%%", pct)
		names = append(names, name)
		tiles[name] = x
	}
	for _, name := range names {
		x := tiles[name]
		for _, path := range []struct {
			name  string
			nzMax int
		}{{"chosen", nzMax}, {"sparse", 784}, {"dense", 0}} {
			b.Run(name+"/"+path.name, func(b *testing.B) {
				c.nzMax = path.nzMax
				defer func() { c.nzMax = nzMax }()
				sc := c.newScratch() // sized for nzMax
				for b.Loop() {
					c.inputPart(sc, x, T, sc.v, sc.xn)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*T), "ns/image")
			})
		}
	}
}
