Feature: Merging a member who joined twice
  Some people join twice: with a card at the till, and later in the app with another phone.
  An administrator folds the second membership into the first, saying why. Every point moves
  with the dates it had, the purchases, vouchers and offers follow the person, the second
  membership's phone and e-mail still lead to her, and the till that names the old
  membership is told which one to use instead.

  Background:
    Given the standard programme rules are in force
    And Ann joined with a card and the phone 138 0000 0001
    And Ann joined again in the app with the phone 138 0000 0002 and the e-mail ann@example.com
    And with her card Ann bought a refrigerator 30 days ago
    And in the app Ann bought a refrigerator 20 days ago and two kettles yesterday
    And Cy is an administrator

  Scenario: two duplicate members are merged and no point is lost
    When Cy merges Ann's app membership into her card membership because "the same person, joined twice"
    Then Ann's card membership holds every point both memberships had, to spend and waiting
    And Ann's app membership holds no points
    And every point in the ledger is accounted for
    And the audit log shows Cy merged Ann's app membership because "the same person, joined twice"

  Scenario: Points still waiting keep their date
    When Cy merges Ann's app membership into her card membership because "the same person, joined twice"
    Then the points for the kettles still wait on Ann's card membership
    And they can be spent from the day they could have been in the app

  Scenario: A purchase made in the app is returned after the merge
    When Cy merges Ann's app membership into her card membership because "the same person, joined twice"
    And Ann returns one kettle bought in the app, at the till with her card
    Then the points for one kettle are taken back from Ann's card membership
    And every point in the ledger is accounted for

  Scenario: The old membership answers with the one that stays
    When Cy merges Ann's app membership into her card membership because "the same person, joined twice"
    Then looking up Ann's app membership leads to her card membership
    And a purchase for Ann's app membership is refused, pointing to her card membership
    And the till finds Ann's card membership by the phone 138 0000 0002
    And nobody can join again with the phone 138 0000 0002
    And Ann's card membership now has the e-mail ann@example.com
