package main

import (
	"fmt"
	"sort"
	"strconv"
)

// Convention is the supervised gradient convention every supervised
// configuration passes to lrrn-train explicitly (docs/training.md), so that
// a change of lrrn-train's default does not silently change an experiment.
const Convention = "mean"

// stage is one lrrn-train invocation of an experiment. Its files live in
// the experiment's directory under the names prefix+"model.bin",
// prefix+"metrics.csv", prefix+"curves.png" and prefix+"filters.png".
type stage struct {
	prefix       string // "" for the final stage, "pretrain-" for the pretraining
	unsupervised bool
	data         string
	arch         string
	act          string
	beta         string
	lr           float64
	wd           float64
	epochs       int
	seed         uint64
	convention   string // supervised only
	initRandom   bool   // start from runner-made random model (see initModel)
	initFrom     string // prefix of an earlier stage whose model starts this one
	batch        int    // mini-batch size; 0: the paper's 10
	objective    string // lrrn-train --objective ("": the paper's onehot)
	schedule     string // lrrn-train --schedule ("": constant)
	weights      string // lrrn-train --weights ("": glorot)
	evalPasses   string // lrrn-train --eval-passes ("": --passes)
	sweeps       int    // lrrn-train --sweeps (0: its default, 1)
}

func (s stage) batchSize() int {
	if s.batch == 0 {
		return batch
	}
	return s.batch
}

// experiment is one named configuration of the paper's experiments.
type experiment struct {
	name, what, paper string // paper: the paper's result this reproduces
	stages            []stage
	verify            bool // run lrrn-verify on the final model
}

const (
	passes = 20
	gamma  = 0.125
	batch  = 10
)

// supervisedLR is the paper's learning rate per data set.
var supervisedLR = map[string]float64{"mnist": 0.4, "kmnist": 0.4, "fashion": 0.1}

var paperScratch = map[string]string{"mnist": "97.2%", "kmnist": "85.8%", "fashion": "86.4%"}
var paperPretrain = map[string]string{"mnist": "97.76%", "kmnist": "87.91%", "fashion": "86.66%"}
var paperTable1 = map[string]string{"mnist": "ρ 0.9387, median δ 0.698, acc 97.2%", "kmnist": "ρ 0.9548, median δ 0.506, acc 85.6%", "fashion": "ρ 1.0716, median δ 0.456, acc 85.7%"}
var paperTable2 = map[string]string{"mnist": "ρ 0.4604, median δ 1.081, acc 95.5%", "kmnist": "ρ 0.4174, median δ 0.695, acc 80.5%", "fashion": "ρ 0.4142, median δ 0.815, acc 82.4%"}

func supervised(data string, wd float64, seed uint64) stage {
	return stage{data: data, arch: "784-64-64-10", act: "relu", beta: "1,1,0", lr: supervisedLR[data], wd: wd,
		epochs: 100, seed: seed, convention: Convention}
}

// experiments returns every named configuration, keyed by name.
func experiments() map[string]experiment {
	ex := map[string]experiment{}
	add := func(e experiment) { ex[e.name] = e }
	for _, act := range []string{"linear", "relu", "hardsigmoid"} {
		add(experiment{name: "unsup-filters-" + act + "-mnist",
			what:  "784-32-32 " + act + ", unsupervised (free energy), β=[1,1], γ=1/8, batch 10, lr 0.005, 100 epochs, 20 passes, MNIST",
			paper: "Fig. 1 (filters)",
			stages: []stage{{unsupervised: true, data: "mnist", arch: "784-32-32", act: act, beta: "1,1", lr: 0.005, wd: 1e-5,
				epochs: 100, seed: 1}}})
	}
	for _, data := range []string{"kmnist", "fashion"} {
		add(experiment{name: "unsup-filters-relu-" + data,
			what:  "784-32-32 relu, unsupervised (free energy), β=[1,1], γ=1/8, batch 10, lr 0.005, 100 epochs, 20 passes, " + data,
			paper: "Fig. 2 (filters)",
			stages: []stage{{unsupervised: true, data: data, arch: "784-32-32", act: "relu", beta: "1,1", lr: 0.005, wd: 1e-5,
				epochs: 100, seed: 1}}})
	}
	for _, data := range []string{"mnist", "kmnist", "fashion"} {
		lr := strconv.FormatFloat(supervisedLR[data], 'g', -1, 64)
		for _, seed := range []uint64{1, 2, 3} {
			name := "scratch-" + data
			if seed != 1 {
				name += fmt.Sprintf("-seed%d", seed)
			}
			add(experiment{name: name,
				what:   fmt.Sprintf("784-64-64-10 relu/linear out, supervised from a random initialisation (seed %d), β=[1,1,0], γ=1/8, batch 10, lr %s, weight decay 1e-5, 100 epochs, 20 passes, %s; also the weight-decay-1e-5 experiment (Table 1)", seed, lr, data),
				paper:  "Fig. 3: " + paperScratch[data] + "; Table 1: " + paperTable1[data],
				stages: []stage{supervised(data, 1e-5, seed)}, verify: true})
		}
		add(experiment{name: "wd1e-4-" + data,
			what:   fmt.Sprintf("as scratch-%s with weight decay 1e-4", data),
			paper:  "Table 2: " + paperTable2[data],
			stages: []stage{supervised(data, 1e-4, 1)}, verify: true})
		ft := supervised(data, 1e-5, 1)
		ft.initFrom = "pretrain-"
		add(experiment{name: "pretrain-" + data,
			what:  fmt.Sprintf("784-64-64-10 (relu, relu, linear out; β=[1,1,0]): 20 epochs unsupervised lr 0.005, then as scratch-%s from those weights", data),
			paper: "Fig. 5: " + paperPretrain[data],
			stages: []stage{{prefix: "pretrain-", unsupervised: true, data: data, arch: "784-64-64-10", act: "relu", beta: "1,1,0",
				lr: 0.005, wd: 1e-5, epochs: 20, seed: 1, initRandom: true}, ft},
			verify: true})
	}
	addRobust(add)
	return ex
}

// The published deterministic certified accuracies on MNIST at ε = 1.58
// (ℓ2, pixels in [0,1]) that the robust configurations are compared with
// (issue 12; results/README.md cites them).
var anchors = []struct {
	Method, Short, Model string
	Clean, Certified158  float64
}{
	{"GloRo nets (Leino et al., ICML 2021)", "GloRo (conv)", "conv 4C3F", 97.0, 62.8},
	{"BCOP (Li et al., NeurIPS 2019)", "BCOP (conv)", "conv, GroupSort", 98.8, 56.7},
	{"BCOP paper, orthogonal MLP", "BCOP MLP", "784-1024-1024-1024-10", 98.7, 54.5},
	{"BCP (Lee et al., NeurIPS 2020)", "BCP (conv)", "conv", 92.5, 48.2},
	{"Lipschitz-margin training (Tsuzuku et al., 2018)", "LMT (conv)", "conv", 86.5, 40.6},
}

// robustStage is certified-robust training (docs/training.md, "Objectives
// for certified margins"): every layer reconstructs (β = 1, so ρ ≤ 1 by
// construction), the output is linear, and the Lipschitz-margin
// cross-entropy asks for the margins of a certificate at ε_train.
// Hyperparameters were chosen on 5,000 held-out training images
// (lrrn-train --holdout 5000; results/README.md, "Certified-robust
// training"), never on the test set.
func robustStage(data string, width int, eps, temp, lr float64, epochs int) stage {
	return stage{data: data, arch: fmt.Sprintf("784-%d-%d-10", width, width), act: "relu", beta: "1,1,1",
		lr: lr, wd: 1e-5, epochs: epochs, seed: 1, convention: Convention, batch: 64,
		objective: fmt.Sprintf("ce,eps=%g,temp=%g", eps, temp), schedule: "cosine"}
}

func addRobust(add func(experiment)) {
	for _, c := range []struct {
		name      string
		data      string
		width     int
		eps, temp float64
		lr        float64
		epochs    int
		weights   string  // lrrn-train --weights ("": glorot)
		wd        float64 // weight decay (0: 1e-5)
		est       string  // objective settings after ce,eps,temp (nudge, est)
		sweeps    int     // lrrn-train --sweeps (0: 1)
	}{
		{"robust-mnist-256", "mnist", 256, 1.58, 0.5, 8, 40, "", 0, "", 0},
		// wider, and a smaller ε_train for clean accuracy: the two
		// directions the 256-wide run left open (results/README.md)
		{"robust-mnist-512", "mnist", 512, 1.58, 0.5, 8, 30, "", 0, "", 0},
		{"robust-mnist-256-eps1", "mnist", 256, 1.0, 0.5, 8, 40, "", 0, "", 0},
		// Fashion-MNIST and KMNIST: the MNIST recipe, not tuned, narrower
		// and shorter (the machine's time went to MNIST), ε_train 1.0
		// (their images are harder to separate than MNIST's).
		{"robust-fashion-128", "fashion", 128, 1.0, 0.5, 8, 20, "", 0, "", 0},
		{"robust-kmnist-128", "kmnist", 128, 1.0, 0.5, 8, 20, "", 0, "", 0},
		// the held-out sweep's two gains at 10 epochs (results/robust-sweep,
		// s4): orthogonal initial weights and ε_train 2, for 100 epochs
		{"robust-mnist-256-orth", "mnist", 256, 2.0, 0.5, 8, 100, "orthogonal", 0, "", 0},
		{"robust-mnist-512-orth", "mnist", 512, 2.0, 0.5, 8, 40, "orthogonal", 0, "", 0},
		// the same at ε_train 1.58: the clean accuracy the goal asks for
		// against certified accuracy at 1.58, at 100 epochs
		{"robust-mnist-256-orth-eps158", "mnist", 256, 1.58, 0.5, 8, 100, "orthogonal", 0, "", 0},
		// the 100-epoch run was still gaining at 1.58 in its last 50 epochs
		// (55.0% → 56.2%): the same recipe for 250 epochs
		{"robust-mnist-256-orth-250", "mnist", 256, 2.0, 0.5, 8, 250, "orthogonal", 0, "", 0},
		// paired hidden units (a concatenated-ReLU start), ahead of the
		// orthogonal start at every one of 10 held-out epochs (robust-sweep, s5)
		{"robust-mnist-256-paired", "mnist", 256, 2.0, 0.5, 8, 100, "paired", 0, "", 0},
		// pairs at 512 units: the best held-out clean accuracy (s5), for as
		// many epochs as robust-mnist-512-orth
		{"robust-mnist-512-paired", "mnist", 512, 2.0, 0.5, 8, 40, "paired", 0, "", 0},
		// the symmetric driven estimator (docs/training.md, "Driven
		// phases") with nudge 1/2 and η = 64: 96.70% held-out and 59.4% at
		// 1.58 after 10 epochs against 95.86% and 53.7% for the clamped
		// nudge of robust-mnist-256-paired (robust-sweep, s6); η·λ kept at
		// 8·10⁻⁵
		{"robust-mnist-256-sym", "mnist", 256, 2.0, 0.5, 64, 100, "paired", 1.25e-6, "nudge=0.5,est=sym", 0},
		// η = 128 was better after 10 held-out epochs but unstable at 100
		// epochs with 20 one-sweep passes: its weights grew until training
		// no longer reached the equilibrium (robust-sweep/README.md). Three
		// sweeps per pass reach it in a fifth of the passes (docs/math.md,
		// "Inner sweeps")
		{"robust-mnist-256-sym-lr128-s3", "mnist", 256, 2.0, 0.5, 128, 100, "paired", 6.25e-7, "nudge=0.5,est=sym", 3},
		// its loss was still falling at epoch 100 (0.926): the same for
		// 200 epochs
		{"robust-mnist-256-sym-lr128-s3-200", "mnist", 256, 2.0, 0.5, 128, 200, "paired", 6.25e-7, "nudge=0.5,est=sym", 3},
		// 200 epochs gained 0.12 clean and 0.5 at 1.58 over 100: width is
		// the lever left (certified accuracy grows with width in every
		// anchor); the same recipe at 512 units for 100 epochs
		{"robust-mnist-512-sym-lr128-s3", "mnist", 512, 2.0, 0.5, 128, 100, "paired", 6.25e-7, "nudge=0.5,est=sym", 3},
		// with the certifier's float64 residual the shipped recipe has
		// certified accuracy to spare at 1.58 and lacks clean accuracy: the
		// held-out runs of robust-sweep s11 (10 epochs, ε_train 2 / 1.58 /
		// 1.25: 96.96 / 97.30 / 97.48% held-out, 64.8 / 63.6 / 62.3% at
		// 1.58) chose ε_train 1.25, the largest whose held-out accuracy
		// clears 97.0% by the held-out-to-test gap (about 0.5); the ±α
		// phases at 10 passes (s9), 200 epochs as the shipped model
		{"robust-mnist-256-sym-eps125-200", "mnist", 256, 1.25, 0.5, 128, 200, "paired", 6.25e-7, "nudge=0.5,est=sym,passes=10", 3},
		// Fashion-MNIST and KMNIST with the symmetric estimator: the MNIST
		// recipe of robust-mnist-256-sym at ε_train 1.0 (as their 128-unit
		// runs), 30 epochs; not tuned on them
		{"robust-fashion-256-sym", "fashion", 256, 1.0, 0.5, 64, 30, "paired", 1.25e-6, "nudge=0.5,est=sym", 0},
		{"robust-kmnist-256-sym", "kmnist", 256, 1.0, 0.5, 64, 30, "paired", 1.25e-6, "nudge=0.5,est=sym", 0},
	} {
		s := robustStage(c.data, c.width, c.eps, c.temp, c.lr, c.epochs)
		s.weights = c.weights
		if c.wd != 0 {
			s.wd = c.wd
		}
		s.sweeps = c.sweeps
		if c.est != "" {
			s.objective += "," + c.est
			// the driven runs' weights grow until 20 passes no longer
			// converge (robust-sweep, s6): evaluate each epoch as
			// lrrn-verify certifies, with passes as needed
			s.evalPasses = "auto"
		}
		init := ""
		if c.weights != "" {
			init = ", " + c.weights + " initial weights"
		}
		add(experiment{name: c.name,
			what: fmt.Sprintf("%s relu/linear out, β=[1,1,1], γ=1/8, batch 64, lr %g cosine, weight decay %g, %d epochs, 20 passes%s, objective %s%s, %s",
				s.arch, c.lr, s.wd, c.epochs, sweepsText(c.sweeps), s.objective, init, c.data),
			paper:  "certified accuracy at ε = 1.58 (issue 12 anchors)",
			stages: []stage{s}, verify: true})
	}
}

func sweepsText(n int) string {
	if n > 1 {
		return fmt.Sprintf(" of %d sweeps", n)
	}
	return ""
}

func names(ex map[string]experiment) []string {
	var n []string
	for k := range ex {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
