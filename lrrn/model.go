// Package lrrn implements Lifted Regression/Reconstruction Networks: the
// model, its energy, block-coordinate-descent inference and the model file
// format. The mathematics is in docs/math.md (the project's copy of the
// design contract); names such as H, c, beta and gamma follow it.
//
// A Model is read from a file (Load, Read; docs/model-format.md), built
// from a Config (New, NewRandom) or trained by package train. Inference
// goes through a Solver (NewSolver), which precomputes what depends on the
// weights once: Free infers the free states of a batch of inputs, whose
// output layer holds the class scores; Clamped holds the output at given
// targets, as training needs.
package lrrn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Activation is the constraint set C_k of a layer; its projection is an
// elementwise clamp to [Lo, Hi].
type Activation uint8

// The activation sets.
const (
	Linear      Activation = iota // R^d
	ReLU                          // the nonnegative orthant
	HardSigmoid                   // the box [0,1]^d
)

func (a Activation) String() string {
	switch a {
	case Linear:
		return "linear"
	case ReLU:
		return "relu"
	case HardSigmoid:
		return "hardsigmoid"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// Bounds returns the clamp interval of the activation set.
func (a Activation) Bounds() (lo, hi float32) {
	switch a {
	case ReLU:
		return 0, float32(math.Inf(1))
	case HardSigmoid:
		return 0, 1
	}
	return float32(math.Inf(-1)), float32(math.Inf(1))
}

// Valid reports whether a is one of the defined activation sets.
func (a Activation) Valid() bool { return a <= HardSigmoid }

// ParseActivation parses "linear", "relu" or "hardsigmoid" (also
// "hard-sigmoid").
func ParseActivation(s string) (Activation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "linear", "identity":
		return Linear, nil
	case "relu":
		return ReLU, nil
	case "hardsigmoid", "hard-sigmoid", "hard_sigmoid":
		return HardSigmoid, nil
	}
	return 0, fmt.Errorf("unknown activation %q (want linear, relu or hardsigmoid)", s)
}

// Limits on a model's sizes, so that a corrupt header or a mistyped
// architecture cannot make Load, New or NewSolver allocate (or compute)
// without limit; each is checked before the allocation it guards.
// MaxUnits bounds the input size d_0 and MaxLayerUnits the sizes d_1 … d_L
// of the layers that inference solves for: a Solver holds a dense
// d_k×d_k matrix per layer (H_k, built in float64), 4096² × 12 bytes =
// 192 MiB at the limit, against 48 GiB at MaxUnits. MaxLayers bounds the
// number of weight layers and MaxWeights the total number of weights
// (1 GiB of float32).
const (
	MaxUnits      = 1 << 16
	MaxLayerUnits = 1 << 12
	MaxLayers     = 64
	MaxWeights    = 1 << 28
)

// Config describes an LRRN's architecture and energy parameters.
type Config struct {
	Sizes  []int        // d_0 … d_L (input first); L = len(Sizes)−1 ≥ 1
	Acts   []Activation // activation set of layers 1 … L (len L)
	Beta   []float64    // β_0 … β_{L−1} ≥ 0 (len L)
	Gamma  float64      // feedback γ in (0, 1]
	Passes int          // default number of BCD passes (≥ 1)
}

// Meta is optional training metadata stored with a model.
type Meta struct {
	Dataset      string  // e.g. "mnist"
	Epochs       int     // epochs trained
	TestAccuracy float64 // in [0,1]; NaN when unknown
	Note         string  // free text, e.g. the command that trained it
}

// Model is an LRRN: the configuration plus weights W_k (d_{k+1}×d_k,
// row-major: row i holds the weights into unit i of layer k+1) and biases
// b_k (d_{k+1}), k = 0 … L−1.
type Model struct {
	Config
	W    [][]float32
	B    [][]float32
	Meta Meta
}

// L returns the number of weight layers.
func (c *Config) L() int { return len(c.Sizes) - 1 }

// unitLimit returns the largest size of layer k: MaxUnits for the input,
// MaxLayerUnits for the layers inference solves for.
func unitLimit(k int) int {
	if k == 0 {
		return MaxUnits
	}
	return MaxLayerUnits
}

// CheckSizes checks layer sizes d_0 … d_L against MaxLayers, MaxUnits,
// MaxLayerUnits and MaxWeights, without allocating; Config.Validate calls
// it, and so can a parser of user input before it builds anything.
func CheckSizes(sizes []int) error {
	L := len(sizes) - 1
	if L < 1 {
		return fmt.Errorf("lrrn: need at least two layer sizes, got %d", len(sizes))
	}
	if L > MaxLayers {
		return fmt.Errorf("lrrn: %d weight layers exceeds the maximum %d", L, MaxLayers)
	}
	total := 0
	for k, d := range sizes {
		if limit := unitLimit(k); d <= 0 || d > limit {
			return fmt.Errorf("lrrn: size of layer %d is %d, want 1 … %d", k, d, limit)
		}
		if k > 0 {
			if total += d * sizes[k-1]; total > MaxWeights {
				return fmt.Errorf("lrrn: %d weights in W_0 … W_%d exceeds the maximum %d", total, k-1, MaxWeights)
			}
		}
	}
	return nil
}

// Validate checks the configuration and returns an error naming the first
// problem.
func (c *Config) Validate() error {
	if err := CheckSizes(c.Sizes); err != nil {
		return err
	}
	L := len(c.Sizes) - 1
	if len(c.Acts) != L {
		return fmt.Errorf("lrrn: %d activations for %d layers (want one per layer 1 … L)", len(c.Acts), L)
	}
	for k, a := range c.Acts {
		if !a.Valid() {
			return fmt.Errorf("lrrn: activation of layer %d is invalid (%d)", k+1, uint8(a))
		}
	}
	if len(c.Beta) != L {
		return fmt.Errorf("lrrn: %d β values for %d weight layers", len(c.Beta), L)
	}
	for k, b := range c.Beta {
		if !(b >= 0) || math.IsInf(b, 0) {
			return fmt.Errorf("lrrn: β_%d = %v, want a finite value ≥ 0", k, b)
		}
	}
	if !(c.Gamma > 0 && c.Gamma <= 1) {
		return fmt.Errorf("lrrn: γ = %v, want 0 < γ ≤ 1", c.Gamma)
	}
	if c.Passes < 1 || c.Passes > 1<<20 {
		return fmt.Errorf("lrrn: default passes = %d, want 1 … %d", c.Passes, 1<<20)
	}
	return nil
}

// Validate checks the configuration, the shapes of the weights and biases
// and that every parameter is finite.
func (m *Model) Validate() error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	L := m.L()
	if len(m.W) != L || len(m.B) != L {
		return fmt.Errorf("lrrn: %d weight and %d bias arrays for %d layers", len(m.W), len(m.B), L)
	}
	for k := 0; k < L; k++ {
		rows, cols := m.Sizes[k+1], m.Sizes[k]
		if len(m.W[k]) != rows*cols {
			return fmt.Errorf("lrrn: W_%d has %d entries, want %d×%d", k, len(m.W[k]), rows, cols)
		}
		if len(m.B[k]) != rows {
			return fmt.Errorf("lrrn: b_%d has %d entries, want %d", k, len(m.B[k]), rows)
		}
		if i := firstNonFinite(m.W[k]); i >= 0 {
			return fmt.Errorf("lrrn: W_%d[%d,%d] = %v is not finite", k, i/cols, i%cols, m.W[k][i])
		}
		if i := firstNonFinite(m.B[k]); i >= 0 {
			return fmt.Errorf("lrrn: b_%d[%d] = %v is not finite", k, i, m.B[k][i])
		}
	}
	return nil
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// New returns a model with the given configuration and all weights and
// biases zero.
func New(c Config) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: cloneConfig(c), Meta: Meta{TestAccuracy: math.NaN()}}
	L := c.L()
	m.W = make([][]float32, L)
	m.B = make([][]float32, L)
	for k := 0; k < L; k++ {
		m.W[k] = make([]float32, c.Sizes[k+1]*c.Sizes[k])
		m.B[k] = make([]float32, c.Sizes[k+1])
	}
	return m, nil
}

// NewRandom returns a model initialised with the documented scheme
// (Glorot/Xavier uniform): every entry of W_k is drawn independently and
// uniformly from [−a, a] with a = √(6/(d_k + d_{k+1})), biases are zero.
// The generator is math/rand/v2's PCG seeded with (seed, 0x4c52524e), so a
// seed gives the same model on every platform and Go release that keeps
// PCG's definition.
func NewRandom(c Config, seed uint64) (*Model, error) {
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x4c52524e))
	for k := range m.W {
		a := math.Sqrt(6 / float64(c.Sizes[k]+c.Sizes[k+1]))
		for i := range m.W[k] {
			m.W[k][i] = float32((2*rng.Float64() - 1) * a)
		}
	}
	return m, nil
}

// NewOrthogonal returns a model whose weight matrices have orthonormal
// rows (or columns, whichever are fewer), so that every singular value of
// every W_k is 1, and zero biases. With β_k = 1 a layer's Lipschitz factor
// (1+β)s/(1+βs²) peaks at s = 1: such a model starts with no layer
// attenuating any direction, the starting point certified-robust training
// (docs/training.md) prefers. The matrices come from Gaussian entries
// (math/rand/v2's PCG seeded with (seed, 0x4f525448)) orthonormalised in
// float64 by modified Gram–Schmidt, applied twice for orthogonality to
// rounding; a seed gives the same model on every platform.
func NewOrthogonal(c Config, seed uint64) (*Model, error) {
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x4f525448))
	for k := range m.W {
		orthonormal(m.W[k], c.Sizes[k+1], c.Sizes[k], 1, rng)
	}
	return m, nil
}

// NewPaired returns a model like NewOrthogonal's except that the units of
// every hidden layer (the outputs of W_0 … W_{L−2}) come in pairs with
// opposite weights: W_k = [v_1; −v_1; v_2; −v_2; …]/√2 with orthonormal v_i
// (or orthonormal columns when there are more pairs than inputs). A ReLU
// pair (max(0, a), max(0, −a)) then carries a = v·x/√2 whatever its sign —
// the concatenated ReLU, which loses no norm — and every nonzero singular
// value of W_k is 1, the peak of a β = 1 layer's Lipschitz factor. The
// output layer's W_{L−1} is orthonormal as in NewOrthogonal. Hidden layers
// need an even number of units. Same generator as NewOrthogonal (another
// stream), the same model for a seed on every platform.
func NewPaired(c Config, seed uint64) (*Model, error) {
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	for k := 0; k+1 < len(m.W); k++ {
		if c.Sizes[k+1]%2 != 0 {
			return nil, fmt.Errorf("lrrn: paired weights need an even number of units in every hidden layer, layer %d has %d", k+1, c.Sizes[k+1])
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x50414952))
	for k := range m.W {
		rows, cols := c.Sizes[k+1], c.Sizes[k]
		if k+1 == len(m.W) {
			orthonormal(m.W[k], rows, cols, 1, rng)
			continue
		}
		v := make([]float32, rows/2*cols)
		orthonormal(v, rows/2, cols, 1/math.Sqrt2, rng)
		for i := 0; i < rows/2; i++ {
			for j, x := range v[i*cols : (i+1)*cols] {
				m.W[k][2*i*cols+j] = x
				m.W[k][(2*i+1)*cols+j] = -x
			}
		}
	}
	return m, nil
}

// orthonormal fills the rows×cols row-major w with scale times a random
// matrix whose rows (rows ≤ cols) or columns (rows > cols) are
// orthonormal (each entry rounded to float32 once).
func orthonormal(w []float32, rows, cols int, scale float64, rng *rand.Rand) {
	n, l := rows, cols // n vectors of length l
	if rows > cols {
		n, l = cols, rows
	}
	v := make([]float64, n*l)
	for i := 0; i < n; i++ {
		vi := v[i*l : (i+1)*l]
		for {
			for j := range vi {
				vi[j] = rng.NormFloat64()
			}
			for range 2 {
				for p := 0; p < i; p++ {
					vp := v[p*l : (p+1)*l]
					d := 0.0
					for j := range vi {
						d += vi[j] * vp[j]
					}
					for j := range vi {
						vi[j] -= d * vp[j]
					}
				}
			}
			nn := 0.0
			for _, x := range vi {
				nn += x * x
			}
			// n ≤ l, so a Gaussian vector has a component outside the
			// span of the others with probability 1; draw again if
			// rounding left (almost) nothing.
			if nn > 1e-12 {
				nn = math.Sqrt(nn)
				for j := range vi {
					vi[j] /= nn
				}
				break
			}
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < l; j++ {
			if rows > cols {
				w[j*cols+i] = float32(scale * v[i*l+j])
			} else {
				w[i*cols+j] = float32(scale * v[i*l+j])
			}
		}
	}
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := &Model{Config: cloneConfig(m.Config), Meta: m.Meta}
	c.W = make([][]float32, len(m.W))
	c.B = make([][]float32, len(m.B))
	for k := range m.W {
		c.W[k] = append([]float32(nil), m.W[k]...)
	}
	for k := range m.B {
		c.B[k] = append([]float32(nil), m.B[k]...)
	}
	return c
}

func cloneConfig(c Config) Config {
	c.Sizes = append([]int(nil), c.Sizes...)
	c.Acts = append([]Activation(nil), c.Acts...)
	c.Beta = append([]float64(nil), c.Beta...)
	return c
}

// ReducedOutput reports whether free inference can eliminate the output
// layer: a linear output with β_{L−1} = 0 (see docs/math.md). Then
// ž_L = W_{L−1} ž_{L−1} + b_{L−1} exactly.
func (c *Config) ReducedOutput() bool {
	L := c.L()
	return L >= 1 && c.Acts[L-1] == Linear && c.Beta[L-1] == 0
}

// ErrShape is returned (wrapped) when an input has the wrong size.
var ErrShape = errors.New("wrong shape")
