Feature: Vouchers presented at the till
  Every reward a member is given comes with a voucher. The till presents the
  member's vouchers with a purchase, and the purchase uses them up. A voucher that
  is someone else's, already used, taken back or past its date is refused: the
  purchase is not recorded, and the till is told which voucher and why.

  Background:
    Given the standard programme rules are in force
    And Ann is a member with her 100 welcome points to spend
    And Ann received an apology voucher after an upheld complaint

  Scenario: A voucher is used up by the purchase that presents it
    When Ann buys a mug presenting her apology voucher
    Then the receipt shows the apology voucher used
    And Ann no longer holds the apology voucher

  Scenario: A voucher can be used only once
    Given Ann bought a mug presenting her apology voucher
    When Ann tries to buy another mug presenting the same voucher
    Then the till is told the voucher was already used
    And that second purchase is not recorded

  Scenario: Two tills presenting the same voucher at the same moment
    When two tills present Ann's apology voucher at the same moment
    Then exactly one of the purchases is recorded
    And the other till is told the voucher was already used

  Scenario: Someone else's voucher is refused
    Given Bob is a member too
    When Bob tries to buy a mug presenting Ann's apology voucher
    Then the till is told the voucher belongs to another member
    And Ann still holds the apology voucher

  Scenario: A voucher past its date is refused
    When Ann tries to buy a mug presenting her apology voucher 91 days later
    Then the till is told the voucher has expired
