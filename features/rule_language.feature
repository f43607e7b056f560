Feature: Marketing changes the programme by editing rule files
  Marketing staff describe offers in rule files they can read, without a programmer.
  The system says at once whether a change is valid, and every matching rule applies.

  Background:
    Given the standard programme rules

  Scenario: Marketing adds a double-points weekend for electronics
    Given marketing adds the rules:
      | rule                | description                              | priority | condition                     | effect                                       |
      | weekend-electronics | Double points on electronics at weekends | 30       | the day is saturday or sunday | 1 extra point per 1 CNY on electronics lines |
    When a member buys a "TV-55" in "electronics" for 2000 CNY on 2026-05-02
    Then the rule "weekend-electronics" fires with the reason "Double points on electronics at weekends"
    And the member earns 4000 points
    When a member buys a "TV-55" in "electronics" for 2000 CNY on 2026-05-04
    Then the rule "weekend-electronics" does not fire
    And the member earns 2000 points

  Scenario: A rule outside its active dates does not fire
    Given marketing adds the rules:
      | rule         | description                  | priority | condition | effect     | from       | until      |
      | spring-bonus | 300 points during the spring | 30       | always    | 300 points | 2026-03-01 | 2026-05-31 |
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-06-01
    Then the rule "spring-bonus" does not fire
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-05-31
    Then the rule "spring-bonus" fires with the reason "300 points during the spring"

  Scenario: Stacked rules all apply in priority order
    Given the member is a gold member
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-05-02
    Then the rules fire in this order: base-earn, gold-multiplier, kitchen-bonus
    And the member earns 350 points

  Scenario: Buying a refrigerator brings an ice maker
    When a member buys a "FRIDGE-500L" in "appliances" for 3999 CNY on 2026-05-02
    Then the rule "fridge-ice-maker" fires with the reason "Buy a refrigerator, get an ice maker"
    And the member is given the reward "ICE-MAKER"

  Scenario: A rule file with a misspelt fact is reported with its line
    When marketing misspells "member.tier" as "member.teir" in the earning rules
    Then the check reports a problem in "earning.yaml" on the line of the misspelling
    And the problem suggests "member.tier"
    And the changed rules cannot be activated

  Scenario: A once-per-member rule is stopped by its limit the second time
    Given marketing adds the rules:
      | rule          | description                             | priority | condition | effect     | limit           |
      | first-kitchen | 100 points for a first kitchen purchase | 30       | always    | 100 points | once per member |
    And the member already had the rule "first-kitchen" once
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-05-02
    Then the rule "first-kitchen" matches but its limit stops it for this member
    And the member earns 300 points

  Scenario Outline: Staff are left out of a bonus
    Given marketing adds the rules:
      | rule        | description                     | priority | condition                      | effect    |
      | happy-buyer | 50 points for every club member | 30       | the member is not tagged staff | 50 points |
    And the member is tagged "<tag>"
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-05-02
    Then the member earns <points> points

    Examples:
      | tag        | points |
      | newsletter | 350    |
      | staff      | 300    |

  Scenario: A big spender is offered bonus points for the next purchase
    Given marketing adds the rules:
      | rule       | description                              | priority | condition                        | effect                                           |
      | come-again | 300 bonus points next time over 1000 CNY | 30       | the purchase is 1000 CNY or more | offer COME-AGAIN of 300 bonus points for 30 days |
    When a member buys a "TV-55" in "electronics" for 1500 CNY on 2026-05-02
    Then the member is offered "COME-AGAIN" worth 300 bonus points for 30 days
    When a member buys a "KETTLE-1" in "kitchen" for 100 CNY on 2026-05-02
    Then the rule "come-again" does not fire

  Scenario: Points for every filter bought; a returned filter takes back its points and its share of the rest
    Given marketing adds the rules:
      | rule          | description                      | priority | condition | effect                                        |
      | filter-points | 50 points for every water filter | 30       | always    | 50 points for every unit on accessories lines |
    When a member buys 2 "FILTER-1" in "accessories" at 99 CNY each on 2026-05-04
    Then the rule "filter-points" fires with the reason "50 points for every water filter"
    And the member earns 298 points
    When the member returns one "FILTER-1"
    Then the return takes back 149 points

  Scenario: Double points on televisions leave the rest of the purchase as it was
    Given marketing adds the rules:
      | rule      | description                  | priority | condition | effect                        |
      | tv-double | Double points on televisions | 30       | always    | double the points on tv lines |
    When a member buys a "TV-55" in "tv" for 2000 CNY and a "KETTLE-1" in "small-kitchen" for 100 CNY together on 2026-05-04
    Then the rule "tv-double" fires with the reason "Double points on televisions"
    And the member earns 4300 points
    When a member buys a "KETTLE-1" in "small-kitchen" for 100 CNY on 2026-05-04
    Then the rule "tv-double" does not fire
    And the member earns 300 points
