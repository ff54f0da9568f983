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
	return ex
}

func names(ex map[string]experiment) []string {
	var n []string
	for k := range ex {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}
