package main

import (
	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/train"
)

// loadData returns the training and test sets of a data set (package
// dataset: its errors say where the files were looked for and how to get
// them).
func loadData(name, dir string) (*train.Data, *train.Data, string, error) {
	canon, err := dataset.Canonical(name)
	if err != nil {
		return nil, nil, "", err
	}
	tr, te, err := dataset.Load(canon, dir)
	if err != nil {
		return nil, nil, "", err
	}
	return fromSet(tr), fromSet(te), canon, nil
}

func fromSet(s *dataset.Set) *train.Data {
	return &train.Data{X: s.Pixels, Labels: s.Labels, N: s.N, D: s.Dim()}
}

// splitOff returns the first N−h inputs of d and its last h (views, no
// copy).
func splitOff(d *train.Data, h int) (*train.Data, *train.Data) {
	n := d.N - h
	a := &train.Data{X: d.X[:n*d.D], Labels: d.Labels[:n], N: n, D: d.D}
	b := &train.Data{X: d.X[n*d.D:], Labels: d.Labels[n:], N: h, D: d.D}
	return a, b
}
