// Package attack searches for adversarial perturbations of an LRRN's exact
// model, to test verify's certificates and to measure how tight they are.
//
// The exact model (Exact) is the minimiser of the energy computed in
// float64 to convergence — block coordinate descent, then active-set
// Newton steps — with a bound on its remaining error, not the finite-pass
// iterate that inference and the certifier use. Input gradients of its
// outputs come from the implicit function theorem on the minimiser's face
// (the units at a bound of their activation set stay there), which needs
// one Cholesky factorisation per face.
//
// An Attacker runs two attacks on it:
//
//   - PGD: projected gradient descent on the margin within an ℓ2 ball.
//     At a certified radius it must never change the prediction; verify's
//     soundness tests run it there.
//   - MinAdversarial: a minimal-norm boundary search (DeepFool steps,
//     bisection towards candidate points such as other images, projection
//     onto the linearised boundary). Every point it returns provably
//     changes the exact model's prediction, so its distance is an upper
//     bound of the smallest adversarial perturbation, and its ratio to a
//     sound certified radius is at least 1.
//
// Both work for any architecture the certifier accepts, with or without a
// reduced output (β_{L−1} = 0): a linear output with β_{L−1} > 0 is a
// block of the free problem like the hidden layers.
//
// Cost: the Hessian is dense, N×N float64 for N variable units. Each face
// of the minimiser needs a Cholesky factor of H_FF: a fresh one costs
// N³/3, one for a face a few units away from a cached face O(N²) per unit
// (row additions and removals). An evaluation on a known face costs
// O(N² + d_0·d_1). Measured on 2 shared, loaded cores
// (BenchmarkMinAdversarial, BenchmarkNewExact, internal/linalg's
// BenchmarkCholesky; random weights, real MNIST images): 784-64-64-10
// (N = 128) 0.1 s per image; 784-256-256-10 with the output a block
// (N = 522) about 0.5 s per image, a fresh factorisation 19 ms, NewExact
// 0.23 s. At 784-1024-1024-10 (N = 2058, 34 MB) a fresh factorisation
// takes 2.9 s (1 GFlop/s: the matrix no longer fits the cache), NewExact
// 27 s, and an image 10 s (2 fresh factorisations and 96 updated faces
// per image; about 280 s if every face were factored afresh): usable for
// a sample of images, not for a whole test set. A blocked (cache-aware)
// factorisation would be the next step, for NewExact's λ_min bound and
// the fresh factors.
//
// `lrrn-verify attack` and `lrrn-experiments tightness` use this package.
package attack
