// Package chart lays out the console's bar charts. The server draws them as
// SVG from a template, so a chart reads without JavaScript; this package
// only does the arithmetic: where each bar, label and grid line goes.
package chart

import (
	"math"
	"strconv"
)

// Margins of the plot inside the chart, in SVG units.
const (
	marginLeft   = 36
	marginRight  = 8
	marginTop    = 10
	marginBottom = 22
)

// Bars is a laid-out bar chart.
type Bars struct {
	Width, Height int
	// Plot is the area the bars stand in.
	PlotLeft, PlotTop, PlotRight, PlotBottom float64
	Bars                                     []Bar
	Ticks                                    []Tick // horizontal grid lines with their values
	Total                                    int64
	Max                                      int64
}

// Bar is one bar: its box, its label under the axis (empty when it would
// crowd its neighbours) and its value. Title is the full label, for the
// tooltip and screen readers.
type Bar struct {
	X, Y, W, H float64
	LabelX     float64
	Label      string
	Title      string
	Value      int64
}

// Tick is a horizontal grid line at Y with its value.
type Tick struct {
	Y     float64
	Label string
}

// Layout places one bar per value in a chart of the given size. labels
// name the bars under the axis; titles name them in full. At most about
// maxLabels labels are shown, evenly spaced.
func Layout(labels, titles []string, values []int64, width, height, maxLabels int) Bars {
	c := Bars{Width: width, Height: height, PlotLeft: marginLeft, PlotTop: marginTop,
		PlotRight: float64(width - marginRight), PlotBottom: float64(height - marginBottom)}
	for _, v := range values {
		c.Total += v
		c.Max = max(c.Max, v)
	}
	top, step := scale(c.Max)
	plotH := c.PlotBottom - c.PlotTop
	for v := int64(0); v <= top; v += step {
		c.Ticks = append(c.Ticks, Tick{Y: round(c.PlotBottom - plotH*float64(v)/float64(top)), Label: strconv.FormatInt(v, 10)})
	}
	n := len(values)
	if n == 0 {
		return c
	}
	slot := (c.PlotRight - c.PlotLeft) / float64(n)
	gap := math.Min(slot*0.2, 4)
	every := 1
	if maxLabels > 0 && n > maxLabels {
		every = (n + maxLabels - 1) / maxLabels
	}
	for i, v := range values {
		h := plotH * float64(v) / float64(top)
		b := Bar{X: round(c.PlotLeft + float64(i)*slot + gap/2), W: round(slot - gap), H: round(h),
			Y: round(c.PlotBottom - h), LabelX: round(c.PlotLeft + (float64(i)+0.5)*slot), Value: v}
		if i < len(titles) {
			b.Title = titles[i]
		}
		if i < len(labels) && i%every == 0 {
			b.Label = labels[i]
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

// scale returns the top of the value axis and the step between grid
// lines for values up to v: steps of 1, 2 or 5 times a power of ten, and
// three to five grid lines.
func scale(v int64) (top, step int64) {
	if v <= 4 {
		return 4, 1
	}
	quarter := (v + 3) / 4
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if step = m * p; step >= quarter {
				return (v + step - 1) / step * step, step
			}
		}
	}
}

func round(f float64) float64 { return math.Round(f*10) / 10 }
