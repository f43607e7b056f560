Feature: Owners earn points for what they buy
  Every purchase earns a point for every yuan. Filters earn points of their own, whatever
  they cost, and more for owners of one of our refrigerators or purifiers. Parts and filters
  bought at the counter of a repair shop earn double, and platinum owners earn double on
  everything. An apology voucher used at the till says thank you for coming back.

  Scenario: A purchase earns one point for every yuan
    Given Ann is a customer
    When Ann buys a 55 inch LED television
    Then Ann earns 3,999 points
    And the receipt says "1 point for every 1 CNY spent"

  Scenario: Every filter earns 50 points on top of its price
    Given Ann is a customer
    When Ann buys three air-conditioner dust filters
    Then Ann earns 327 points
    And the receipt says "50 points for every filter"

  Scenario: A refrigerator owner earns 20 more points for every filter
    Given Ann is a customer
    And Ann bought a refrigerator 20 days ago
    When Ann buys two refrigerator water filters
    Then Ann earns 398 points
    And the receipt says "20 more points for every filter when you own one of our refrigerators or water purifiers"

  Scenario: Returning a filter takes back its points
    Given Ann is a customer
    When Ann buys three air-conditioner dust filters
    And Ann returns one air-conditioner dust filter
    Then Ann loses 109 points

  Scenario: A spare part bought at a repair shop earns double points
    Given Ann is a customer
    When Ann buys a refrigerator door seal at the repair shop RS-SH-PUDONG
    Then Ann earns 360 points
    And the receipt says "Double points on spare parts, filters and descaler bought at a repair shop"

  Scenario: The same part bought in a showroom earns single points
    Given Ann is a customer
    When Ann buys a refrigerator door seal at the store SH-FLAGSHIP
    Then Ann earns 180 points

  Scenario: Platinum owners earn double points
    Given Ann is a platinum customer
    When Ann buys a 55 inch LED television
    Then Ann earns 7,998 points
    And the receipt says "Platinum owners earn double base points"

  Scenario: Using an apology voucher at the till earns 300 points, once
    Given Ann is a customer
    And Ann's complaint was upheld 10 days ago
    When Ann buys a 1.7 l kettle presenting her "SORRY-VOUCHER" voucher
    Then Ann earns 499 points
    And the receipt says "Thank you for giving us another chance - 300 points when you use your apology voucher"
    And Ann cannot present her "SORRY-VOUCHER" voucher again
