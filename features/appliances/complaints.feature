Feature: Complaints handled well
  When customer care upholds a complaint the customer gets a 200 CNY apology voucher to use
  at the till. A serious complaint brings apology points too. A second complaint within 90
  days of the previous one goes to a customer care manager, with 2,000 points.

  Scenario: An upheld complaint brings a 200 CNY apology voucher
    Given Ann is a customer
    When Ann's complaint is upheld
    Then Ann receives "SORRY-VOUCHER"
    And Ann earns no points

  Scenario: A rejected complaint brings no voucher
    Given Ann is a customer
    When Ann's complaint is rejected
    Then Ann receives no "SORRY-VOUCHER"

  Scenario: A serious upheld complaint brings 500 apology points as well
    Given Ann is a customer
    When Ann's serious complaint is upheld
    Then Ann receives "SORRY-VOUCHER"
    And Ann earns 500 points

  Scenario: A second complaint within 90 days goes to a customer care manager
    Given Ann is a customer
    And Ann's complaint was upheld 40 days ago
    When Ann's complaint is upheld
    Then Ann earns 2,000 points
    And Ann has the privilege "care-manager" for 180 days
    And Ann holds two "SORRY-VOUCHER"

  Scenario: A complaint soon after a rejected one is escalated too
    Given Ann is a customer
    And Ann's complaint was rejected 30 days ago
    When Ann's complaint is upheld
    Then Ann earns 2,000 points

  Scenario: A complaint four months after the previous one is handled as a first one
    Given Ann has been a customer for 2 years
    And Ann's complaint was upheld 120 days ago
    When Ann's complaint is upheld
    Then Ann earns no points
    And Ann does not have the privilege "care-manager"
