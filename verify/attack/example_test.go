package attack_test

import (
	"fmt"

	"github.com/lrrn/lrrn/lrrn"
	"github.com/lrrn/lrrn/verify"
	"github.com/lrrn/lrrn/verify/attack"
)

// How tight is a certificate? Certify an input, then search for the
// smallest perturbation that changes the exact model's prediction.
func ExampleAttacker_MinAdversarial() {
	m, err := lrrn.NewRandom(lrrn.Config{Sizes: []int{6, 5, 5, 3}, Acts: []lrrn.Activation{lrrn.ReLU, lrrn.ReLU, lrrn.Linear},
		Beta: []float64{1, 1, 1}, Gamma: 0.125, Passes: 20}, 1)
	if err != nil {
		panic(err)
	}
	m.B[2][0] = 0.5 // class 0 wins near the origin
	c, err := verify.New(m, verify.Options{Workers: 1})
	if err != nil {
		panic(err)
	}
	x := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	cert, err := c.Certify(x, -1)
	if err != nil {
		panic(err)
	}
	ex, err := attack.NewExact(m)
	if err != nil {
		panic(err)
	}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	f := ex.NewAttacker(attack.Options{}).MinAdversarial(x64, cert.Label, nil, nil)
	fmt.Printf("class %d certified within %.3f; the exact model predicts %d at distance %.3f (ratio %.2f)\n",
		cert.Label, cert.Radius, f.Class, f.Dist, f.Dist/cert.Radius)
	// Output: class 0 certified within 0.177; the exact model predicts 1 at distance 0.481 (ratio 2.72)
}
