package idx

import "fmt"

// Images is a set of N images of Rows×Cols pixels, scaled to [0,1] for
// unsigned-byte files (pixel p becomes float32(p)/255, computed in
// float32) and taken as stored for float32 files.
type Images struct {
	N, Rows, Cols int
	Pixels        []float32 // N·Rows·Cols values; image i is Pixels[i·Rows·Cols:(i+1)·Rows·Cols], row-major
}

// Dim returns the number of pixels of one image, Rows·Cols.
func (im *Images) Dim() int { return im.Rows * im.Cols }

// Image returns the pixels of image i (a subslice of Pixels).
func (im *Images) Image(i int) []float32 {
	d := im.Dim()
	return im.Pixels[i*d : (i+1)*d : (i+1)*d]
}

// Validate checks the shape: at least one image of at least one pixel,
// and N·Rows·Cols pixels. Images that ReadImages returned are valid.
func (im *Images) Validate() error {
	n := len(im.Pixels)
	// n = N·Rows·Cols, checked by divisions that cannot overflow.
	if im.N < 1 || im.Rows < 1 || im.Cols < 1 || n%im.Cols != 0 || n/im.Cols%im.Rows != 0 || n/im.Cols/im.Rows != im.N {
		return fmt.Errorf("idx: %d pixels for %d images of %d×%d", n, im.N, im.Rows, im.Cols)
	}
	return nil
}

// Labelled is a set of images with a label per image: a classification
// data set or a part of one. Package dataset loads them, package train
// trains and evaluates on them.
type Labelled struct {
	Images
	Labels []uint8 // Labels[i] is the class of image i
}

// Validate checks the shapes: valid Images (see Images.Validate) and one
// label per image. What the labels may be is the user's to check (a data
// set's number of classes, a model's output size).
func (l *Labelled) Validate() error {
	if l == nil {
		return fmt.Errorf("idx: no labelled images (nil)")
	}
	if err := l.Images.Validate(); err != nil {
		return err
	}
	if len(l.Labels) != l.N {
		return fmt.Errorf("idx: %d images but %d labels", l.N, len(l.Labels))
	}
	return nil
}

// Slice returns images lo … hi−1 and their labels, sharing l's memory.
// It panics unless 0 ≤ lo ≤ hi ≤ l.N.
func (l *Labelled) Slice(lo, hi int) *Labelled {
	if lo < 0 || hi < lo || hi > l.N {
		panic(fmt.Sprintf("idx: Slice(%d, %d) of %d images", lo, hi, l.N))
	}
	d := l.Dim()
	return &Labelled{
		Images: Images{N: hi - lo, Rows: l.Rows, Cols: l.Cols, Pixels: l.Pixels[lo*d : hi*d : hi*d]},
		Labels: l.Labels[lo:hi:hi],
	}
}
