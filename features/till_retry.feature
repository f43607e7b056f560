Feature: A till may send the same purchase again
  Networks fail, so tills resend. Sending the same purchase again, even many
  times at once, records it once and gives the till the same receipt. Reusing
  a receipt number for a different purchase is refused.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend

  Scenario: A resent purchase gets the same receipt and counts once
    When Ann buys a refrigerator for 3999.00
    And the till sends that purchase again
    Then the till gets the same receipt
    And Ann has 3999 points waiting and 100 points to spend

  Scenario: Twenty resends at the same moment count once
    When the till sends the same purchase of 100.00 twenty times at once
    Then Ann has 100 points waiting and 100 points to spend
    And Ann's ledger shows that purchase once

  Scenario: A receipt number reused for a different purchase is refused
    When Ann buys a refrigerator for 3999.00
    And another purchase arrives under the same receipt number
    Then the till is told the receipt number was already used
    And Ann has 3999 points waiting and 100 points to spend
