package main

import (
	"github.com/lrrn/lrrn/dataset"
	"github.com/lrrn/lrrn/idx"
)

// loadData returns the training and test sets of a data set (package
// dataset: its errors say where the files were looked for and how to get
// them).
func loadData(name, dir string) (*idx.Labelled, *idx.Labelled, string, error) {
	canon, err := dataset.Canonical(name)
	if err != nil {
		return nil, nil, "", err
	}
	tr, te, err := dataset.Load(canon, dir)
	if err != nil {
		return nil, nil, "", err
	}
	return &tr.Labelled, &te.Labelled, canon, nil
}
