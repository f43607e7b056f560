Feature: A warm welcome, birthdays, and putting a bad stay right
  A new guest gets 500 points and a drink at the rooftop bar, and 200 points more when
  joining through the app. On their birthday, members and Silver guests get a cake in
  their room on their next stay; Gold and Platinum guests a 60-minute massage and 1,000
  points. When a complaint is upheld the guest gets 2,000 points and a call from guest
  relations; a second upheld complaint within a year brings a call from the general
  manager and a free night. A poor review brings a call to put it right.

  Scenario: A new guest gets 500 points and a drink at the bar
    Given Ann is a guest
    Then Ann has 500 points to spend
    And Ann holds "WELCOME-DRINK"

  Scenario: Joining through the app brings 200 points more
    Given Bob is a guest who joined through the app
    Then Bob has 700 points to spend

  Scenario: A member's birthday brings a cake in the room
    Given Ann is a guest born on 20 March 1990
    When the daily sweep runs on 20 March
    Then Ann holds "BIRTHDAY-CAKE"
    And Ann is sent a "birthday-greeting" message

  Scenario: A Gold guest's birthday brings a massage and 1,000 points
    Given Ann is a guest born on 20 March 1990
    And Ann stayed 30 nights in a standard room 30 days ago
    When the daily sweep runs on 20 March
    Then Ann holds "BIRTHDAY-SPA"
    And Ann's statement shows 1,000 points for "A 60-minute massage and 1,000 points for the birthday of a Gold or Platinum guest"

  Scenario: An upheld complaint brings 2,000 points and a call; a rejected one does not
    Given Ann is a guest
    When the hotel upholds Ann's complaint about housekeeping
    Then Ann earns 2,000 points
    And Ann is sent a "complaint-followup" message
    When the hotel rejects Ann's complaint about noise
    Then Ann earns 0 points

  Scenario: A second upheld complaint within a year brings a free night and the general manager's call
    Given Ann is a guest
    And the hotel upheld Ann's complaint about the restaurant 40 days ago
    When the hotel upholds Ann's complaint about maintenance
    Then Ann receives "FREE-NIGHT"
    And Ann is sent a "personal-call" message

  Scenario: A poor review brings a call from guest relations
    Given Ann is a guest
    When Ann reviews her stay with 5 out of 5
    Then Ann is not sent a "guest-relations-call" message
    When Ann reviews her stay with 2 out of 5
    Then Ann is sent a "guest-relations-call" message
