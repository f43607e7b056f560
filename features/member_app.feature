Feature: What a member sees, in the shop and in their own app
  A member is told, at the till and in their app, when the points still waiting out
  the return window become theirs to spend, when points expire next, and what they
  still need to spend to reach the next tier, and by when. A member app reads that
  one member with a pass the till or the service desk gives them: it reads the
  member's points, history, vouchers and offers, and nothing else. Once the pass is
  withdrawn it stops working at once, on every server. (The pass is what the
  service calls a member token.)

  Background:
    Given the standard programme rules are in force

  Scenario: A member sees when her pending points become available
    Given Ann is a member with her 100 welcome points to spend
    And Ann bought a refrigerator for 3999.00 five days ago
    When Ann buys two filters at 49.50 each
    Then the receipt tells Ann that 3999 points become available on 29 November and 99 points on 4 December
    And Ann's account tells her the same

  Scenario: A member sees what she still needs for the next tier
    Given Ann is a member with her 100 welcome points to spend
    When Ann buys a refrigerator for 3999.00
    Then the receipt tells Ann she needs to spend 1001.00 more within 12 months to reach silver
    And Ann's account tells her the same

  Scenario: A silver member sees what gold needs, and when her tier is reviewed
    Given Ann is a member with her 100 welcome points to spend
    When Ann spends 6000.00 on gift cards
    Then Ann is a silver member
    And the receipt tells Ann she needs to spend 14000.00 more to reach gold before her review on 20 November 2027

  Scenario: A member app reads only its own member
    Given Ann is a member with her 100 welcome points to spend
    And Bob is a member with his 100 welcome points to spend
    And the till gives Ann a pass for her phone
    Then Ann's phone shows her points, her history, her vouchers and her offers
    And Ann's phone cannot read Bob's account
    And Ann's phone cannot read Ann's account the way the till does
    And Ann's phone cannot record a purchase

  Scenario: A revoked pass stops working at once
    Given Ann is a member with her 100 welcome points to spend
    And the till gives Ann a pass for her phone
    And Ann's phone shows her points on every server
    When the service desk withdraws the pass of Ann's phone
    Then Ann's phone is turned away at once on every server
    And the service desk sees the pass as withdrawn
