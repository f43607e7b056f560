Feature: Members buying more than their usual are growing, those buying as usual are mature
  Among members who keep buying, marketing tells apart those who buy more than they
  usually do (growing) from those who buy as they always have (mature). A member's usual
  is their own: what they spent per three months over the year before the last three
  months. Buying at least a fifth more than that is growing. Each move between the two
  tells the rules, so a programme can thank a member who grows and notice one who settles
  back. A programme may count visits instead of spend.

  Background:
    Given the standard programme rules are in force
    And marketing thanks a member who starts buying more than usual with 200 points
    And Ann has bought a mug for 100.00 every month for more than a year

  Scenario: A member buying as usual is mature
    When the daily sweep runs the next day
    Then Ann counts as mature
    And Ann has not been thanked for growing

  Scenario: A member buying more than their usual is growing, and the rules react
    Given the daily sweep found Ann mature
    When Ann buys a sofa for 1000.00
    And the daily sweep runs the next day
    Then Ann counts as growing
    And Ann is thanked for growing with 200 points
    When the daily sweep runs the next day
    Then Ann has been thanked for growing just once

  Scenario: A growing member who goes back to their usual is mature again
    Given Ann bought a sofa for 1000.00 and the daily sweep found her growing
    When three months pass with Ann buying her monthly mug
    And the daily sweep runs the next day
    Then Ann counts as mature

  Scenario Outline: A programme may measure growth in visits instead of spend
    Given the programme measures growth in <measure>
    And the daily sweep found Ann mature
    When Ann buys a pen for 5.00 on each of the next three days
    And the daily sweep runs the next day
    Then Ann counts as <stage>

    Examples:
      | measure | stage   |
      | spend   | mature  |
      | visits  | growing |
