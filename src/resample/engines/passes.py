"""Which pass of a separable resize runs first, and whether 8-bit fixed point runs: decided
from the tables' sizes alone, the same way by the engine (resample/engines/cpu.py) and by the
plain job (resample/jobs/plain.py).  No NumPy here."""

COLS_COST = 2.0    # a cols-pass multiply-add (a gather) costs about this many rows-pass ones
FIXED_ORDER_SLACK = 3.0   # fixed point runs columns first, if that costs at most this many
                          # times rows first (its columns' pass is cheaper than the float one)


def pass_costs(n_rows, n_cols, rows_out, cols_out, rows_taps, cols_width):
    """``(rows_first, cols_first)``: the multiply-adds of each order, a cols-pass one weighing
    COLS_COST.  ``rows_taps``: the rows' table's mean taps per output; ``cols_width``: the
    columns' table's width."""
    tx = cols_width * COLS_COST
    rows_first = rows_out * (n_cols * rows_taps + cols_out * tx)
    cols_first = n_rows * cols_out * tx + rows_out * cols_out * rows_taps
    return rows_first, cols_first


def fixed_order_ok(rows_first, cols_first):
    """Whether the fixed-point loops (columns first) may run for these costs."""
    return cols_first <= FIXED_ORDER_SLACK * rows_first
