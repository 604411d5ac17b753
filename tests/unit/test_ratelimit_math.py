from services.sender.ratelimit import slot_offsets


def test_slots_are_spaced_by_the_interval() -> None:
    assert slot_offsets(0.5, 3, 0.02) == [0.5, 0.52, 0.54]


def test_no_window_of_one_second_holds_more_than_the_rate() -> None:
    rate = 50
    slots = slot_offsets(0.0, 500, 1 / rate)
    for start in slots:
        in_window = [s for s in slots if start <= s < start + 1.0 - 1e-9]
        assert len(in_window) <= rate
