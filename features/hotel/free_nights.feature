Feature: Free nights for points, and gifts that belong to a stay
  A guest may exchange 20,000 points for a free night, and presents the voucher at
  check-out: the free night is billed at 0, earns no points but counts as a night for
  the tier, and the voucher pays for one stay only. A stay of 5 nights or more brings
  a spa day pass for two; if the stay is refunded, the pass goes back with it. The
  tenth stay brings 2,000 bonus points.

  Background:
    Given Ann is a guest

  Scenario: A free night earns no points but counts as a night for the tier
    Given Ann stayed 9 nights in a presidential suite 30 days ago
    When Ann redeems 20,000 points for "FREE-NIGHT"
    Then Ann has 60,600 points to spend
    When Ann stays 1 night in a deluxe room paid with her "FREE-NIGHT" voucher
    Then Ann earns 0 points
    And the receipt says Ann has reached silver
    And Ann is sent a "free-night" message

  Scenario: The paid nights of a stay with a free night earn as usual
    Given Ann stayed 3 nights in a presidential suite 30 days ago
    And Ann redeemed 20,000 points for "FREE-NIGHT"
    When Ann stays 2 nights in a deluxe room, one of them paid with her "FREE-NIGHT" voucher
    Then Ann earns 980 points
    And Ann no longer holds "FREE-NIGHT"

  Scenario: A free night voucher pays for one stay only
    Given Ann stayed 3 nights in a presidential suite 30 days ago
    And Ann redeemed 20,000 points for "FREE-NIGHT"
    When Ann stays 1 night in a deluxe room paid with her "FREE-NIGHT" voucher
    Then Ann cannot present her "FREE-NIGHT" voucher again

  Scenario: A stay of 5 nights or more brings a spa day pass for two
    When Ann stays 5 nights in a standard room
    Then Ann receives "LONG-STAY-SPA"

  Scenario: A refunded long stay takes the spa pass back
    Given Ann stayed 6 nights in a standard room 2 days ago
    When the hotel refunds 1 night of Ann's stay
    Then Ann still holds "LONG-STAY-SPA"
    When the hotel refunds the rest of Ann's stay
    Then Ann no longer holds "LONG-STAY-SPA"

  Scenario: The tenth stay brings 2,000 bonus points, once
    Given Ann stayed 1 night in a standard room 9 times in the last 50 days
    When Ann stays 1 night in a standard room
    Then the receipt gives 2,000 points for "2,000 bonus points for your tenth stay with us"
    When Ann stays 1 night in a standard room
    Then the receipt does not say "2,000 bonus points for your tenth stay with us"
