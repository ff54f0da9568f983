// Package verify certifies the robustness of an LRRN's predictions: for an
// input x it proves that the exact model — the minimiser ž(x) of the
// energy, not the finite-pass iterate z̃ that inference computes — assigns
// the same class to every x' with ‖x' − x‖₂ < δ, with δ from the margin and
// a certified Lipschitz bound (docs/math.md, "Lipschitz bound and certified
// radius" and "What makes a certificate sound").
//
// Build a Certifier once per model (New); it computes everything that
// depends only on the weights, then certifies inputs one at a time
// (Certify) or in batches spread over goroutines (CertifyBatch), without
// allocating per input. Package verify/service serves it over HTTP, and
// cmd/lrrn-verify is its command-line front end.
//
// # What is certified, and how
//
// Every bound is computed so that rounding can only make it more
// conservative: spectral norms of the weights are proved by Cholesky
// factorisations with explicit floating-point error terms, the Lipschitz
// bound ρ = Π_k ℓ(β_k, W_k) uses certified intervals for σ_min and σ_max,
// and the distance from the finite-pass iterate to the exact minimiser is
// bounded by the residual and a certified strong-convexity constant μ.
// Bounds.RhoEstimate is the paper's estimate (power-iteration σ_max only),
// printed for comparison and NOT sound. docs/math.md ("How package verify
// computes its bounds") gives the derivations and the tests that try to
// break them; docs/report-format.md describes the JSON forms (ModelInfo,
// Record).
package verify
