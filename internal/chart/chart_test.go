package chart

import "testing"

func TestScale(t *testing.T) {
	for v, want := range map[int64][2]int64{0: {4, 1}, 3: {4, 1}, 5: {6, 2}, 11: {15, 5}, 20: {20, 5}, 37: {40, 10},
		41: {60, 20}, 99: {100, 50}, 100: {100, 50}, 101: {150, 50}, 4500: {6000, 2000}} {
		top, step := scale(v)
		if top != want[0] || step != want[1] {
			t.Errorf("scale(%d) = %d, %d; want %v", v, top, step, want)
		}
		if lines := top/step + 1; lines < 3 || lines > 5 {
			t.Errorf("scale(%d): %d grid lines", v, lines)
		}
	}
}

func TestLayout(t *testing.T) {
	labels := []string{"a", "b", "c", "d"}
	c := Layout(labels, []string{"A", "B", "C", "D"}, []int64{0, 5, 10, 20}, 400, 200, 2)
	if c.Total != 35 || c.Max != 20 || len(c.Bars) != 4 {
		t.Fatalf("%+v", c)
	}
	plotBottom := float64(200 - marginBottom)
	for i, b := range c.Bars {
		if b.Y+b.H != plotBottom {
			t.Errorf("bar %d does not stand on the axis: y %v h %v", i, b.Y, b.H)
		}
		if i > 0 && b.X <= c.Bars[i-1].X+c.Bars[i-1].W-0.1 {
			t.Errorf("bar %d overlaps the one before", i)
		}
		if b.Title != labels[i] && b.Title != string(rune('A'+i)) {
			t.Errorf("title %q", b.Title)
		}
	}
	if c.Bars[0].H != 0 || c.Bars[3].Y != marginTop || c.Bars[2].H*2 != c.Bars[3].H {
		t.Errorf("heights: %+v", c.Bars)
	}
	if c.Bars[0].Label != "a" || c.Bars[1].Label != "" || c.Bars[2].Label != "c" {
		t.Errorf("labels every other bar: %+v", c.Bars)
	}
	if len(c.Ticks) != 5 || c.Ticks[0].Label != "0" || c.Ticks[4].Label != "20" || c.Ticks[4].Y != marginTop {
		t.Errorf("ticks: %+v", c.Ticks)
	}
	if empty := Layout(nil, nil, nil, 400, 200, 10); len(empty.Bars) != 0 || len(empty.Ticks) != 5 {
		t.Errorf("empty: %+v", empty)
	}
}
